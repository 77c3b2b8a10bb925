"""Prometheus gauges of the pipeline, computed at scrape time from the database, so every web
process reports the same figure (in-process counters would differ per process)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

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


class IngestCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without describe(), registering would call collect(), i.e. query the database at startup.
        yield GaugeMetricFamily(*_FAILED)
        yield GaugeMetricFamily(*_OUTBOX)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from ingest.selectors import failed_records_pending_count, outbox_pending_count

        try:
            failed, queued = failed_records_pending_count(), outbox_pending_count()
        except Exception:  # a scrape must not fail because the database is down; readiness reports that
            logger.warning("ingest metrics: database unavailable", exc_info=True)
            return
        yield GaugeMetricFamily(*_FAILED, value=failed)
        yield GaugeMetricFamily(*_OUTBOX, value=queued)


_registered = False


def collector_register() -> None:
    global _registered
    if _registered:
        return
    from prometheus_client import REGISTRY

    REGISTRY.register(IngestCollector())
    _registered = True
