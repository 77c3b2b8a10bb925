"""Logging filters: what must never reach a log line.

Dramatiq logs a failing message with ``%s`` of the message, which is the actor's call with every
argument: for the ingest store, the whole batch, message bodies and senders' IP addresses
included (finding 8). :class:`RedactQueueMessages` replaces such a message by its actor, its id and
how many arguments it had, before any handler formats it.
"""

from __future__ import annotations

import logging
from typing import Any


def _redacted(value: Any) -> Any:
    from dramatiq import Message

    if isinstance(value, Message):
        return f"{value.actor_name}(message_id={value.message_id}, {len(value.args)} args redacted)"
    return value


class RedactQueueMessages(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        record.msg = _redacted(record.msg)
        return True
