"""Logging filters: what must never reach a log line.

Dramatiq logs a failing message with ``%s`` of the message, which is the actor's call with every
argument: for the ingest store, the whole batch, message bodies and senders' IP addresses
included (finding 8). :class:`RedactData` replaces such a message by its actor, its id and how
many arguments it had, before any handler formats it.

A database error's text quotes data too: PostgreSQL's ``DETAIL: Failing row contains (...)`` or
``Key (sender)=(...) already exists`` carries the row that failed. A logged traceback keeps its
frames (where it failed is what the operator needs) but its database errors are replaced by their
class, SQLSTATE, table, column and constraint (what it was), never their message.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any


class RedactedDatabaseError(Exception):
    """Stands in a logged traceback for a database error whose message may quote data."""


def _database_error_summary(exc: BaseException) -> str:
    """``IntegrityError from NotNullViolation sqlstate=23502 table=… column=…``: every part names
    a kind or a schema object, none is data."""
    parts = [type(exc).__name__]
    driver_error = exc.__cause__ if exc.__cause__ is not None else exc
    if driver_error is not exc:
        parts.append(f"from {type(driver_error).__name__}")
    sqlstate = getattr(driver_error, "sqlstate", None)
    if sqlstate:
        parts.append(f"sqlstate={sqlstate}")
    diag = getattr(driver_error, "diag", None)
    for label, attribute in (("table", "table_name"), ("column", "column_name"), ("constraint", "constraint_name")):
        value = getattr(diag, attribute, None) if diag is not None else None
        if value:
            parts.append(f"{label}={value}")
    return " ".join(parts) + " (message redacted: it may quote data)"


def _is_database_error(value: Any) -> bool:
    from django.db import Error as DjangoDatabaseError

    if isinstance(value, DjangoDatabaseError):
        return True
    try:
        from psycopg import Error as PsycopgError
    except ImportError:  # SQLite only: Django's wrapper is all there is
        return False
    return isinstance(value, PsycopgError)


def _redacted(value: Any) -> Any:
    from dramatiq import Message

    if isinstance(value, Message):
        return f"{value.actor_name}(message_id={value.message_id}, {len(value.args)} args redacted)"
    if _is_database_error(value):
        return _database_error_summary(value)
    return value


def _redacted_exc_info(
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None],
) -> tuple[type[BaseException], BaseException, TracebackType | None]:
    """The same frames, with no database error's message: a database error becomes its summary;
    an error raised from one (a service wrapping it) becomes its own class name and the summary,
    since its message may repeat the database's."""
    _type, exc, traceback = exc_info
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or link.__context__
    database_error = next((link for link in chain if _is_database_error(link)), None)
    if database_error is None:
        return exc_info
    summary = _database_error_summary(database_error)
    if database_error is not exc:
        summary = f"{_type.__name__} raised from {summary}"
    stand_in = RedactedDatabaseError(summary).with_traceback(traceback)
    return RedactedDatabaseError, stand_in, traceback


class RedactData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        record.msg = _redacted(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_info = _redacted_exc_info(record.exc_info)  # type: ignore[arg-type]
            record.exc_text = None  # a handler before us may have cached the unredacted text
        return True
