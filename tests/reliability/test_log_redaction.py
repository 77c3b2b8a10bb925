"""No record contents in the logs (finding 8): when a store fails, the worker logged the whole batch
(message bodies, IP addresses), because Dramatiq logs a failing message as the actor's call with
all its arguments. The configured handler now writes the actor and the message id only."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from config.logfilters import RedactQueueMessages

SECRET_BODY, SECRET_IP = "the-body-nobody-may-read", "203.0.113.77"


@pytest.fixture
def configured_log() -> Iterator[io.StringIO]:
    """What the project's stderr handler (settings.LOGGING) writes, captured."""
    handlers = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and any(isinstance(f, RedactQueueMessages) for f in h.filters)
    ]
    assert handlers, "settings.LOGGING's stderr handler carries the redaction filter"
    handler = handlers[0]
    sink = io.StringIO()
    previous = handler.setStream(sink)
    try:
        yield sink
    finally:
        handler.setStream(previous)


def test_a_failing_store_batch_is_logged_without_its_records(configured_log):
    from ingest.tasks import ingest_store_batch

    record = {"id": "0" * 32, "message": {"text": SECRET_BODY}, "ip": SECRET_IP, "sender": "svc"}
    message = ingest_store_batch.message([record])
    try:
        raise RuntimeError("store failed")
    except RuntimeError:
        # Exactly Dramatiq's call in Worker.process_message for an unhandled exception.
        logging.getLogger("dramatiq.worker.WorkerThread").error(
            "Failed to process message %s with unhandled exception.", message, exc_info=True
        )
    logging.getLogger("dramatiq.worker.WorkerThread").warning("Message %s was skipped.", message)
    written = configured_log.getvalue()
    assert f"ingest_store_batch(message_id={message.message_id}, 1 args redacted)" in written, written
    assert SECRET_BODY not in written and SECRET_IP not in written, written
    assert str(message) not in written
