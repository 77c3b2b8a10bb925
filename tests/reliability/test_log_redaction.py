"""No record contents in the logs (finding 8): when a store fails, the worker logged the whole batch
(message bodies, IP addresses), because Dramatiq logs a failing message as the actor's call with
all its arguments. The configured handler now writes the actor and the message id only."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from config.logfilters import RedactData

SECRET_BODY, SECRET_IP = "the-body-nobody-may-read", "203.0.113.77"


@pytest.fixture
def configured_log() -> Iterator[io.StringIO]:
    """What the project's stderr handler (settings.LOGGING) writes, captured."""
    handlers = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and any(isinstance(f, RedactData) for f in h.filters)
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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_error_is_logged_with_its_traceback_but_without_the_data_it_quotes(configured_log):
    """PostgreSQL's error text quotes the failing row (``DETAIL: Failing row contains (...)``): a
    failed store logged as Dramatiq logs it showed the record's body and IP address. The line keeps
    the frames and says what failed (class, SQLSTATE, table, column), never the row."""
    import uuid

    from django.db import IntegrityError, transaction
    from django.utils import timezone

    from ingest.models import IngestRecord

    row = IngestRecord(
        uuid=uuid.uuid4(),
        ts=None,  # NOT NULL: the database refuses the row and quotes it back
        sender=SECRET_BODY,
        message={"text": SECRET_BODY},
        sent_from_ip=SECRET_IP,
        received_at=timezone.now(),
    )

    def store_the_batch() -> None:
        with transaction.atomic():
            IngestRecord.objects.bulk_create([row])

    with pytest.raises(IntegrityError) as raised:
        try:
            store_the_batch()
        except IntegrityError:
            logging.getLogger("dramatiq.worker.WorkerThread").error(
                "Failed to process message %s with unhandled exception.", "ingest_store_batch(...)", exc_info=True
            )
            raise
    assert SECRET_IP in str(raised.value), "PostgreSQL quotes the failing row: what the log must not show"
    written = configured_log.getvalue()
    assert SECRET_BODY not in written and SECRET_IP not in written, written
    assert "store_the_batch" in written, "the traceback's frames are kept"
    assert "RedactedDatabaseError: IntegrityError from NotNullViolation sqlstate=23502" in written, written
    assert "column=ts" in written, written


def test_an_error_raised_from_a_database_error_is_redacted_too(configured_log):
    """A service that wraps a database error in its own (``raise StoreError(...) from exc``) gets
    its class name kept and both messages dropped: the wrapper's may repeat the database's."""
    from django.db import DataError

    class StoreError(Exception):
        pass

    try:
        try:
            raise DataError(f"invalid input value: {SECRET_BODY}")
        except DataError as exc:
            raise StoreError(f"could not store {SECRET_IP}: {exc}") from exc
    except StoreError:
        logging.getLogger("ingest.tasks").exception("store failed")
    written = configured_log.getvalue()
    assert SECRET_BODY not in written and SECRET_IP not in written, written
    assert "RedactedDatabaseError: StoreError raised from DataError (message redacted: it may quote data)" in written
