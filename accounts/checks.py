"""System checks for what authentication depends on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register


@register(deploy=True)
def signing_key_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """JWTs are signed with the secret key: a key generated into one machine's ``var/`` makes every
    other server reject the tokens it issued (and all tokens die with that folder)."""
    if settings.SECRET_KEY_FROM_ENVIRONMENT or settings.SIMPLE_JWT.get("SIGNING_KEY") != settings.SECRET_KEY:
        return []
    return [
        Warning(
            "DJANGO_SECRET_KEY is not set: this machine uses a development key generated into var/, so JWTs it "
            "issues are rejected by every other server.",
            hint="Set DJANGO_SECRET_KEY (or JWT_SIGNING_KEY) to the same secret on every server.",
            id="accounts.W001",
        )
    ]
