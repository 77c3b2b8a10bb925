"""The ingest app's settings: ``settings.INGEST`` (a dict) over the defaults below.

Read at call time, never cached at import, so tests can override them with the ``settings`` fixture.
The two exceptions are the actor options (queue name, retries), which Dramatiq fixes when
``ingest.tasks`` is imported; they come from the same dict.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

# 2000-01-01T00:00:00Z. Earlier values are almost always an unset clock or a bug; see docs/ingest.md.
TS_MIN_DEFAULT = 946_684_800

DEFAULTS: dict[str, Any] = {
    # Queue the web side publishes to and the worker consumes. A second deployment (or a test run)
    # sharing the broker sets its own name (INGEST_QUEUE) so neither consumes the other's messages.
    "QUEUE_NAME": "ingest",
    # Largest accepted body; None means "DATA_UPLOAD_MAX_MEMORY_SIZE, else 64 KiB".
    "MAX_BODY_BYTES": None,
    # Validation rules.
    "TS_MIN": TS_MIN_DEFAULT,
    "TS_MAX_FUTURE_SECONDS": 86_400,
    "MESSAGE_MAX_DEPTH": 32,
    # Publishing: how long a request waits for the broker before answering 503, what it tells the
    # client to wait, and how the per-process publisher groups concurrent records into one message.
    "PUBLISH_TIMEOUT_SECONDS": 5.0,
    "RETRY_AFTER_SECONDS": 5,
    "PUBLISH_MAX_BATCH": 100,
    "PUBLISH_MAX_BATCH_BYTES": 1024 * 1024,
    "PUBLISH_MAX_PENDING": 2000,
    # Embedded default (stub broker): the web process runs a Dramatiq worker thread itself.
    "RUN_WORKER_IN_PROCESS": None,  # None: settings.QUEUE_IN_PROCESS
    "IN_PROCESS_WORKER_THREADS": 2,
    # Worker side: retries before a batch is dead-lettered (1 s doubling up to 10 min: ~45 min in all).
    "STORE_MAX_RETRIES": 12,
    "STORE_MIN_BACKOFF_MS": 1_000,
    "STORE_MAX_BACKOFF_MS": 600_000,
    "STORE_TIME_LIMIT_MS": 120_000,
}


def ingest_setting(name: str) -> Any:
    value = getattr(settings, "INGEST", {}).get(name, DEFAULTS[name])
    if name == "MAX_BODY_BYTES" and value is None:
        return getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None) or 64 * 1024
    if name == "RUN_WORKER_IN_PROCESS" and value is None:
        return bool(getattr(settings, "QUEUE_IN_PROCESS", False))
    return value
