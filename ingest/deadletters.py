"""The broker side of dead letters: count them and move them into the database.

Dramatiq dead-letters a message whose retries are exhausted into ``<queue>.XQ`` (RabbitMQ: a
queue with a 7-day message TTL; Redis: a sorted set trimmed after 7 days; stub: a list in memory).
The failure is normally recorded in the database by the ``ingest_dead_batch`` actor at the same
time, and until then the records are still in the outbox, so a dead letter is never the only copy.
:func:`dead_letters_import` records what the actor could not (database down for a day), and
empties the broker queue so that the broker and the database do not disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq import Message
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import xq_name

from ingest.services import dead_message_save
from ingest.tasks import DEAD_ACTOR, STORE_ACTOR

logger = logging.getLogger("maas.ingest")


class ForeignDeadLetter(Exception):
    """A dead letter of an actor this app does not know: left in place for a human to look at."""


def _store_message(message: Message) -> dict[str, Any] | None:
    """The store message a dead letter is about: itself, or the one a failed dead-batch call carried."""
    if message.actor_name == STORE_ACTOR:
        return message.asdict()
    if message.actor_name == DEAD_ACTOR and message.args and isinstance(message.args[0], dict):
        return message.args[0]
    return None


def dead_letters_count(*, queue_name: str) -> int | None:
    """Messages in the broker's dead-letter queue; None when the broker cannot say."""
    broker = dramatiq.get_broker()
    if isinstance(broker, StubBroker):
        return len(broker.dead_letters_by_queue.get(queue_name, []))
    if isinstance(broker, RabbitmqBroker):
        import pika.exceptions

        try:
            frame = broker.channel.queue_declare(queue=xq_name(queue_name), passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            del broker.channel  # the broker closed it; the next use opens a new one
            if exc.reply_code == 404:  # never declared: no worker has consumed this queue yet
                return 0
            raise
        return int(frame.method.message_count)
    if isinstance(broker, RedisBroker):
        return int(broker.client.zcard(f"{broker.namespace}:{xq_name(queue_name)}"))
    return None


def dead_letters_import(
    *, queue_name: str, limit: int | None = None, progress: Callable[[int], None] | None = None
) -> int:
    """Record the broker's dead letters of ``queue_name`` in the database and remove them from the
    broker (each one only after its records are committed). Returns how many messages were moved."""
    broker = dramatiq.get_broker()
    moved = 0

    def save(message: Message) -> None:
        nonlocal moved
        store_message = _store_message(message)
        if store_message is None:
            raise ForeignDeadLetter(
                f"message {message.message_id} of actor {message.actor_name!r} is not an ingest message; left in place"
            )
        dead_message_save(message=store_message)
        moved += 1
        if progress:
            progress(moved)

    if isinstance(broker, StubBroker):
        dead = broker.dead_letters_by_queue.get(queue_name, [])
        while dead and (limit is None or moved < limit):
            save(dead[0]._message)
            dead.pop(0)
    elif isinstance(broker, RabbitmqBroker):
        if dead_letters_count(queue_name=queue_name) == 0:  # also: no such queue yet
            return 0
        channel = broker.channel
        while limit is None or moved < limit:
            method, _properties, body = channel.basic_get(queue=xq_name(queue_name), auto_ack=False)
            if method is None:
                break
            try:
                save(Message.decode(body))
            except Exception:
                channel.basic_nack(method.delivery_tag, requeue=True)
                raise
            channel.basic_ack(method.delivery_tag)
    elif isinstance(broker, RedisBroker):
        xq = f"{broker.namespace}:{xq_name(queue_name)}"
        while limit is None or moved < limit:
            ids: list[bytes] = list(broker.client.zrange(xq, 0, 0))  # type: ignore[arg-type]
            if not ids:
                break
            data: bytes | None = broker.client.hget(f"{xq}.msgs", ids[0])  # type: ignore[assignment]
            if data is not None:  # None: its body already expired; only the id was left
                save(Message.decode(data))
            pipe = broker.client.pipeline()
            pipe.zrem(xq, ids[0])
            pipe.hdel(f"{xq}.msgs", ids[0])
            pipe.execute()
    return moved
