"""Hand accepted records to the broker, several per message, before the API answers 202.

Why a publisher thread: with RabbitMQ publisher confirms, ``send()`` waits for the broker to
write the message, ~1 ms, so one message per request caps a process near 1.1-1.3k requests/s
(../shared/MEASUREMENTS.md). Here each web process has one publisher thread; request threads put
their record in its queue and wait. The thread takes everything waiting (up to a batch limit),
publishes it as ONE message, waits for the one confirm, then releases all those requests. Under
load the batches grow by themselves (group commit); when idle a batch is one record and adds no
delay. A 202 therefore still means "the broker has confirmed this record".

If the broker does not confirm within ``PUBLISH_TIMEOUT_SECONDS`` the request gets 503 and
``Retry-After``. A request that gives up before its record was picked is withdrawn (never
published); one that gives up while its batch is in flight may still be stored, which is why
clients that retry should send an ``Idempotency-Key``.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from dramatiq import Message

from ingest.conf import ingest_setting
from ingest.embedded import embedded_worker_start

logger = logging.getLogger("maas.ingest")


class PublishFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _Pending:
    record: dict[str, Any]
    size: int
    future: Future = field(default_factory=Future)


class RecordPublisher:
    """One per process (see :func:`publisher`); thread-safe."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self.batches_published = 0
        self.records_published = 0

    def publish(self, record: dict[str, Any], *, size: int) -> None:
        """Block until the broker has ``record``; raise PublishFailed otherwise."""
        self._ensure_running()
        if ingest_setting("RUN_WORKER_IN_PROCESS"):
            embedded_worker_start()  # cheap once started
        if self._queue.qsize() >= ingest_setting("PUBLISH_MAX_PENDING"):
            raise PublishFailed("too many records waiting for the broker")
        pending = _Pending(record=record, size=size)
        self._queue.put(pending)
        try:
            pending.future.result(timeout=ingest_setting("PUBLISH_TIMEOUT_SECONDS"))
        except FutureTimeout:
            # cancel() succeeds only if the publisher has not picked the record yet: then it is
            # never published. Otherwise it is in flight and may still be stored.
            withdrawn = pending.future.cancel()
            raise PublishFailed(
                "broker did not confirm in time" + ("" if withdrawn else " (may still be stored)")
            ) from None
        except CancelledError:  # pragma: no cover - only this thread cancels
            raise PublishFailed("withdrawn") from None
        except PublishFailed:
            raise
        except Exception as exc:
            raise PublishFailed(f"broker error: {type(exc).__name__}: {exc}") from exc

    # --- the publisher thread -------------------------------------------------------------
    def _ensure_running(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():  # forked (e.g. a server's worker process): start afresh here
                self._queue = queue.SimpleQueue()
                self._pid = os.getpid()
                self._thread = None
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ingest-publisher", daemon=True)
                self._thread.start()

    def _take_batch(self) -> list[_Pending]:
        max_records = ingest_setting("PUBLISH_MAX_BATCH")
        max_bytes = ingest_setting("PUBLISH_MAX_BATCH_BYTES")
        batch: list[_Pending] = []
        size = 0
        item = self._queue.get()
        while True:
            # False if the request already gave up: leave it out.
            if item.future.set_running_or_notify_cancel():
                batch.append(item)
                size += item.size
            if len(batch) >= max_records or size >= max_bytes:
                return batch
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if not batch:
                continue
            started = time.perf_counter()
            try:
                batch_publish([item.record for item in batch])
            except Exception as exc:
                logger.warning("publish failed records=%d error=%s: %s", len(batch), type(exc).__name__, str(exc)[:200])
                for item in batch:
                    item.future.set_exception(exc)
                continue
            self.batches_published += 1
            self.records_published += len(batch)
            logger.debug("published records=%d ms=%.2f", len(batch), (time.perf_counter() - started) * 1000)
            for item in batch:
                item.future.set_result(None)


def batch_publish(
    records: list[dict[str, Any]], *, queue_name: str | None = None, options: dict[str, Any] | None = None
) -> Message:
    """Enqueue one store message carrying ``records`` (returns once the broker has it).

    ``options`` are Dramatiq message options (e.g. ``max_retries``), overriding the actor's.
    """
    from ingest.tasks import STORE_ACTOR

    broker = dramatiq.get_broker()
    queue_name = queue_name or ingest_setting("QUEUE_NAME")
    if queue_name not in broker.get_declared_queues():
        broker.declare_queue(queue_name)
    message: Message = Message(
        queue_name=queue_name, actor_name=STORE_ACTOR, args=(records,), kwargs={}, options=dict(options or {})
    )
    return broker.enqueue(message)


_publisher = RecordPublisher()


def publisher() -> RecordPublisher:
    return _publisher
