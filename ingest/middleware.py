"""Dramatiq middleware: record dead-lettered store batches in the database.

When the Retries middleware gives up on a store message (``message.failed``), the worker nacks it
into the broker's dead-letter queue, whose retention is limited (7 days). This middleware also
enqueues the message's records to the ``ingest_dead_batch`` actor *on the same queue*, which saves
them as IngestFailedRecord rows until an operator replays them. Same queue rather than Retries'
``on_retry_exhausted`` (which uses the target actor's declared queue), so a deployment or test run
with its own ``INGEST['QUEUE_NAME']`` keeps all of its messages to itself.

Listed before Retries in ``DRAMATIQ_BROKER['MIDDLEWARE']``: ``after_*`` hooks run in reverse order,
so this one runs after Retries has decided.
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
            # The message itself still goes to <queue>.XQ; `ingest_deadletters --replay` imports it.
            logger.exception("could not hand a dead batch to %s message_id=%s", DEAD_ACTOR, message.message_id)
        else:
            logger.warning("batch dead-lettered message_id=%s", message.message_id)
