"""Refresh tokens stored before only digests were: replace each by its SHA-256."""

from __future__ import annotations

import hashlib

from django.db import migrations


def _hash_stored_tokens(apps, schema_editor):
    OutstandingToken = apps.get_model("token_blacklist", "OutstandingToken")
    for row in OutstandingToken.objects.exclude(token__startswith="sha256:").only("pk", "token").iterator():
        digest = "sha256:" + hashlib.sha256(row.token.encode()).hexdigest()
        OutstandingToken.objects.filter(pk=row.pk).update(token=digest)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_client_credentials_version"),
        ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more"),
    ]

    operations = [migrations.RunPython(_hash_stored_tokens, migrations.RunPython.noop)]
