"""Signing secrets and the ``MaaS-Signature`` header (the scheme Stripe uses, so receivers know it).

``MaaS-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``: the receiver
recomputes the HMAC over the exact body it received and refuses a ``t`` too far from its clock
(a replayed delivery), then de-duplicates on the event ``id``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

from webhooks.conf import webhooks_setting

SECRET_PREFIX = "whsec_"


def salt_generate() -> str:
    return secrets.token_hex(32)


def secret_for(salt: str) -> str:
    """The signing secret of the webhook whose salt is ``salt`` (see webhooks.models: not stored)."""
    key = (webhooks_setting("SECRET_KEY") or settings.SECRET_KEY).encode()
    return SECRET_PREFIX + hmac.new(key, b"webhook-secret:" + salt.encode(), hashlib.sha256).hexdigest()


def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_verify(*, secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (tests use it; docs/webhooks.md shows it): True when ``header`` signs
    ``body`` with ``secret`` and its time is within ``tolerance`` seconds of ``now``."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature_header(secret=secret, timestamp=timestamp, body=body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))
