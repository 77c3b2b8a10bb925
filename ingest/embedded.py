"""The embedded default: with the in-process stub broker there is no separate worker, so the web
process runs a Dramatiq worker (threads) itself, and with it the outbox relay.

The embedded settings install it: they list :class:`EmbeddedWorkerMiddleware`, which starts the
worker when a server builds its request handler (at startup for runserver and WSGI/ASGI servers)
and then leaves the request path. Never at import or in ``AppConfig.ready``: management commands
and migrations must not grow threads; the test suite turns it off (``INGEST["EMBEDDED_WORKER"]``)
and runs its own workers.

It consumes every declared queue, so it serves other apps' actors on the stub broker too. There
is one per process (Dramatiq supports one ``Worker`` per process).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import dramatiq
from django.core.exceptions import MiddlewareNotUsed
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from ingest.conf import ingest_setting

logger = logging.getLogger("maas.ingest")

_lock = threading.Lock()
_worker: Worker | None = None


class EmbeddedWorkerMiddleware:
    """Starts the in-process worker when the request handler is built; costs requests nothing."""

    def __init__(self, get_response: Callable[..., Any]) -> None:
        if ingest_setting("EMBEDDED_WORKER"):
            embedded_worker_start()
        raise MiddlewareNotUsed  # nothing to do per request: Django leaves it out of the chain


def embedded_worker_start() -> Worker | None:
    """Start the in-process worker once (only on the stub broker); return it."""
    global _worker
    if _worker is not None:  # the common case, without the lock
        return _worker
    broker = dramatiq.get_broker()
    if not isinstance(broker, StubBroker):
        return None
    with _lock:
        if _worker is None:
            import ingest.tasks  # noqa: F401  (declares the actors and their queues)

            broker.declare_queue(ingest_setting("QUEUE_NAME"))
            _worker = Worker(broker, worker_threads=ingest_setting("EMBEDDED_WORKER_THREADS"), worker_timeout=100)
            _worker.start()  # boots the outbox relay too (ingest.middleware.OutboxRelay)
            logger.info("embedded worker started threads=%d", _worker.worker_threads)
        return _worker


def embedded_worker_stop() -> None:
    """Stop the in-process worker (tests; it is a daemon otherwise)."""
    global _worker
    with _lock:
        if _worker is None:
            return
        worker, _worker = _worker, None
    worker.stop(timeout=10_000)
    # Worker.start() registered a middleware that adds consumers for new queues; drop it with the worker.
    worker.broker.middleware[:] = [m for m in worker.broker.middleware if getattr(m, "worker", None) is not worker]
