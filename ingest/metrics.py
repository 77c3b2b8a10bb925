"""Prometheus series of the ingest pipeline.

Gauges of its state (outbox depth, age of the oldest record in it, failed records) are computed at
scrape time from the database, so every web process reports the same figure (an in-process gauge
would differ per process) and a scrape costs two cheap queries, nothing on the request path.

Counters and histograms of what the worker does (batches stored and their duration, dead letters,
freshness accepted → stored) are prometheus_client's, multiprocess-safe under
``PROMETHEUS_MULTIPROC_DIR`` like the web's (``config.metrics``); the worker exposes them on its
own port (``ingest.worker_metrics``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger("maas.ingest")


_FAILED = (
    "maas_ingest_failed_records",
    "Ingest records that could not be stored and wait for an operator's replay "
    "(manage.py ingest_deadletters --replay).",
)
_OUTBOX = (
    "maas_ingest_outbox_records",
    "Ingest records accepted (202) and not stored yet; growing means the workers are down or behind.",
)
_OUTBOX_AGE = (
    "maas_ingest_outbox_oldest_age_seconds",
    "Age of the oldest record in the outbox (0 when it is empty): how late the pipeline is.",
)

BATCH_SECONDS = Histogram(
    "maas_ingest_batch_seconds",
    "Time the worker took to store one queued batch (up to RELAY_BATCH records), failed ones included.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
BATCH_RECORDS = Counter("maas_ingest_stored_records", "Ingest records stored by the worker (duplicates included).")
DEAD_LETTERS = Counter(
    "maas_ingest_dead_letters",
    "Store batches whose retries were exhausted: dead-lettered and set aside as failed records.",
)
FRESHNESS_SECONDS = Histogram(
    "maas_ingest_freshness_seconds",
    "Per record, from its acceptance (202) to its storage by the worker: the ingest freshness SLO's series.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0),
)


class IngestCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without describe(), registering would call collect(), i.e. query the database at startup.
        yield GaugeMetricFamily(*_FAILED)
        yield GaugeMetricFamily(*_OUTBOX)
        yield GaugeMetricFamily(*_OUTBOX_AGE)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.utils import timezone

        from ingest.selectors import failed_records_pending_count, outbox_depth

        try:
            failed = failed_records_pending_count()
            queued, oldest = outbox_depth()
        except Exception:  # a scrape must not fail because the database is down; readiness reports that
            logger.warning("ingest metrics: database unavailable", exc_info=True)
            return
        age = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest is not None else 0.0
        yield GaugeMetricFamily(*_FAILED, value=failed)
        yield GaugeMetricFamily(*_OUTBOX, value=queued)
        yield GaugeMetricFamily(*_OUTBOX_AGE, value=age)


def batch_stored(*, started: float, received: list[float]) -> None:
    """Record a stored batch: its duration since ``started`` (perf_counter) and each record's
    freshness from its ``received`` epoch time."""
    BATCH_SECONDS.observe(time.perf_counter() - started)
    BATCH_RECORDS.inc(len(received))
    now = time.time()
    for accepted in received:
        FRESHNESS_SECONDS.observe(max(0.0, now - accepted))


def collector_register() -> None:
    """Expose the scrape-time gauges on /metrics (once per process)."""
    from config.metrics import scrape_collector_add

    scrape_collector_add(_COLLECTOR)


_COLLECTOR = IngestCollector()
