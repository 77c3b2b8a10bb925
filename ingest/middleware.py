"""Dramatiq middleware of the ingest pipeline (listed in ``DRAMATIQ_BROKER['MIDDLEWARE']``).

:class:`OutboxRelay` runs the outbox relay as a thread of every worker process.

:class:`DeadLetters` records dead-lettered store batches in the database. When the Retries
middleware gives up on a store message (``message.failed``), the worker nacks it into the broker's
dead-letter queue, whose retention is limited (7 days). This middleware also enqueues the message
to the ``ingest_dead_batch`` actor *on the same queue*, which sets its records aside as
IngestFailedRecord rows until an operator replays them. Same queue rather than Retries'
``on_retry_exhausted`` (which uses the target actor's declared queue), so a deployment or test run
with its own ``INGEST['QUEUE_NAME']`` keeps all of its messages to itself. It is listed before
Retries: ``after_*`` hooks run in reverse order, so it runs after Retries has decided.
"""

from __future__ import annotations

import logging
from typing import Any

from dramatiq import Message
from dramatiq.broker import Broker
from dramatiq.middleware import Middleware

logger = logging.getLogger("maas.ingest")


class DeadLetters(Middleware):
    def after_process_message(
        self, broker: Broker, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        from ingest.tasks import DEAD_ACTOR, STORE_ACTOR

        if exception is None or not message.failed or message.actor_name != STORE_ACTOR:
            return
        from ingest.metrics import DEAD_LETTERS

        DEAD_LETTERS.inc()
        try:
            broker.enqueue(
                Message(
                    queue_name=message.queue_name,
                    actor_name=DEAD_ACTOR,
                    args=(message.asdict(),),
                    kwargs={},
                    options={},
                )
            )
        except Exception:
            # The records are still in the outbox (relayed again later) and the message in <queue>.XQ.
            logger.exception("could not hand a dead batch to %s message_id=%s", DEAD_ACTOR, message.message_id)
        else:
            logger.warning("batch dead-lettered message_id=%s", message.message_id)


class OutboxRelay(Middleware):
    """Starts the outbox relay thread when a worker boots, stops it when the worker shuts down."""

    def __init__(self) -> None:
        self.thread: Any = None

    def after_worker_boot(self, broker: Broker, worker: Any) -> None:
        from ingest.conf import ingest_setting
        from ingest.relay import RelayThread

        if not ingest_setting("RELAY_IN_WORKER") or (self.thread is not None and self.thread.is_alive()):
            return
        whitelist = getattr(worker, "consumer_whitelist", None)
        if whitelist and ingest_setting("QUEUE_NAME") not in whitelist:
            return  # a worker for other queues only: relaying to a queue nobody here consumes helps nobody
        self.thread = RelayThread()
        self.thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        if self.thread is not None:
            self.thread.stop()
            self.thread = None
