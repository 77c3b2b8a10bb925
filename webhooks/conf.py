"""The webhooks app's settings: ``settings.WEBHOOKS`` (a dict) over the defaults below.

Read at call time, never cached at import, so tests can override them with the ``settings`` fixture.
The exceptions are the actor's retry options, which Dramatiq fixes when ``webhooks.tasks`` is imported.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Queue the deliveries go to; a second deployment (or a test run) sharing the broker sets its own.
    "QUEUE_NAME": "webhooks",
    # Deliveries to loopback, private, link-local or otherwise non-public addresses are refused
    # (SSRF: a client must not make us POST into our own network). Tests and local development allow them.
    "ALLOW_PRIVATE_ADDRESSES": False,
    # Attempts per delivery, then it is marked failed. Backoff between attempts: MIN_BACKOFF_MS
    # doubling up to MAX_BACKOFF_MS (Dramatiq's, jittered): 10 attempts span about 1.5 hours.
    "MAX_ATTEMPTS": 10,
    "MIN_BACKOFF_MS": 5_000,
    "MAX_BACKOFF_MS": 1_800_000,
    # Seconds to connect and to read the answer; a receiver should answer at once and work later.
    "TIMEOUT_SECONDS": 5.0,
    # Webhooks per client.
    "MAX_PER_CLIENT": 10,
    # Key the signing secrets are derived from (empty: SECRET_KEY). Changing it changes every secret.
    "SECRET_KEY": "",
}


def webhooks_setting(name: str) -> Any:
    return getattr(settings, "WEBHOOKS", {}).get(name, DEFAULTS[name])
