"""The ingest app's settings: ``settings.INGEST`` (a dict) over the defaults below.

Read at call time, never cached at import, so tests can override them with the ``settings`` fixture.
The exceptions are the actor options (queue name, retries), which Dramatiq fixes when
``ingest.tasks`` is imported; they come from the same dict.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

# 2000-01-01T00:00:00Z. Earlier values are almost always an unset clock or a bug; see docs/ingest.md.
TS_MIN_DEFAULT = 946_684_800

DEFAULTS: dict[str, Any] = {
    # Queue the relay publishes to and the worker consumes. A second deployment (or a test run)
    # sharing the broker sets its own name (INGEST_QUEUE) so neither consumes the other's messages.
    "QUEUE_NAME": "ingest",
    # Largest accepted body; None means "DATA_UPLOAD_MAX_MEMORY_SIZE, else 64 KiB".
    "MAX_BODY_BYTES": None,
    # Validation rules.
    "TS_MIN": TS_MIN_DEFAULT,
    "TS_MAX_FUTURE_SECONDS": 86_400,
    "MESSAGE_MAX_DEPTH": 32,
    # What a 503 (database unavailable at accept time) tells the client to wait.
    "RETRY_AFTER_SECONDS": 5,
    # Relay (outbox -> queue): records per message, pause when the outbox is empty, and after how
    # long a relayed record that is still not stored is relayed again (its message was lost). Keep
    # that above the worker's whole retry window (up to ~37 min), or failing batches get doubled.
    "RELAY_BATCH": 500,
    "RELAY_IDLE_SECONDS": 0.2,
    "RELAY_REDELIVER_SECONDS": 3600,
    # The relay runs as a thread of every Dramatiq worker process (ingest.middleware.OutboxRelay).
    "RELAY_IN_WORKER": True,
    # Embedded default (stub broker): the web process runs a Dramatiq worker (and so the relay) itself,
    # started by ingest.embedded.EmbeddedWorkerMiddleware, which only the embedded settings list.
    "EMBEDDED_WORKER": True,
    "EMBEDDED_WORKER_THREADS": 2,
    # Worker side: retries before a batch is set aside (1 s doubling, capped at 10 min, jittered: 19-37 min).
    "STORE_MAX_RETRIES": 12,
    "STORE_MIN_BACKOFF_MS": 1_000,
    "STORE_MAX_BACKOFF_MS": 600_000,
    "STORE_TIME_LIMIT_MS": 120_000,
    # Days a record's sent-from-ip is kept whole; then `manage.py ingest_ip_retention` truncates it to
    # its /24 network (docs/privacy.md says why truncation rather than a keyed hash).
    "IP_RETENTION_DAYS": 30,
}


def ingest_setting(name: str) -> Any:
    value = getattr(settings, "INGEST", {}).get(name, DEFAULTS[name])
    if name == "MAX_BODY_BYTES" and value is None:
        return getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None) or 64 * 1024
    return value
