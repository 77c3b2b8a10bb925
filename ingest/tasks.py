"""Dramatiq actors of the ingest pipeline. The worker runs them: ``make worker``
(``manage.py rundramatiq``); on the embedded default the web process runs them itself. Messages
come from the outbox relay (ingest.relay), up to RELAY_BATCH records each.

Delivery is at least once: the broker redelivers a message whose worker died before acking, and
the store is idempotent on the record id. A message that keeps failing is retried with
exponential backoff, then dead-lettered: the worker moves it to the broker's dead-letter queue
(``<queue>.XQ``) and :class:`ingest.middleware.DeadLetters` sends it to :func:`ingest_dead_batch`,
which sets its records aside in the database, where they stay until replayed (the broker drops
dead letters after 7 days).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import dramatiq

from ingest.conf import ingest_setting

logger = logging.getLogger("maas.ingest")

STORE_ACTOR = "ingest_store_batch"
DEAD_ACTOR = "ingest_dead_batch"


@dramatiq.actor(
    actor_name=STORE_ACTOR,
    queue_name=ingest_setting("QUEUE_NAME"),
    max_retries=ingest_setting("STORE_MAX_RETRIES"),
    min_backoff=ingest_setting("STORE_MIN_BACKOFF_MS"),
    max_backoff=ingest_setting("STORE_MAX_BACKOFF_MS"),
    time_limit=ingest_setting("STORE_TIME_LIMIT_MS"),
)
def ingest_store_batch(records: list[dict[str, Any]]) -> None:
    from ingest.metrics import batch_stored
    from ingest.services import records_store

    started = time.perf_counter()
    records_store(records=records)  # raises on a database outage: retried, not counted as stored
    # Acceptance times as the web process wrote them (epoch seconds); a malformed record was set aside.
    received = [r["received"] for r in records if isinstance(r, dict) and isinstance(r.get("received"), float)]
    batch_stored(started=started, received=received)
    # One line per batch, naming the requests that accepted its records: grep a request id from the
    # API's access line to here. Not one line per record: a batch is up to RELAY_BATCH records.
    logger.info(
        "stored batch",
        extra={
            "records": len(records),
            "request_ids": sorted(
                {str(r["request_id"]) for r in records if isinstance(r, dict) and r.get("request_id")}
            ),
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )


@dramatiq.actor(
    actor_name=DEAD_ACTOR,
    queue_name=ingest_setting("QUEUE_NAME"),
    # Recording a failure needs the database, the likely culprit: be patient (~1 day of retries).
    max_retries=30,
    min_backoff=5_000,
    max_backoff=3_600_000,
)
def ingest_dead_batch(message: dict[str, Any]) -> None:
    from ingest.services import dead_message_save

    dead_message_save(message=message)
