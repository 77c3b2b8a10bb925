"""Every client gets a token account when it is created, so operators can top it up at once."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from billing.services import account_ensure


@receiver(post_save, sender="accounts.Client")
def _client_created(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        account_ensure(client_id=instance.pk)
