"""Writes of the ingest pipeline: accept (web side), store (worker side), failures and replays."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dramatiq
from django.db import DataError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from dramatiq.brokers.stub import StubBroker

from ingest.conf import ingest_setting
from ingest.exceptions import QueueUnavailable
from ingest.ids import record_id_new
from ingest.models import IngestFailedRecord, IngestRecord
from ingest.publisher import PublishFailed, batch_publish, publisher
from ingest.validation import ValidRecord

logger = logging.getLogger("maas.ingest")


# --- Accept (web) -----------------------------------------------------------------------------
def record_accept(*, client_id: int, record: ValidRecord, size: int, idempotency_key: str | None = None) -> uuid.UUID:
    """Give ``record`` an id and hand it to the broker; return the id once the broker has it.

    Raises QueueUnavailable (503) when the broker cannot take it: then nothing was accepted.
    """
    record_id = record_id_new(client_id=client_id, idempotency_key=idempotency_key)
    payload = {
        "id": str(record_id),
        "client": client_id,
        "ts": record.ts,
        "sender": record.sender,
        "message": record.message,
        "ip": record.sent_from_ip,
        "priority": record.priority,
        "received": time.time(),
    }
    try:
        publisher().publish(payload, size=size)
    except PublishFailed as exc:
        raise QueueUnavailable(retry_after=ingest_setting("RETRY_AFTER_SECONDS"), reason=exc.reason) from exc
    return record_id


# --- Store (worker) ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StoreResult:
    records: int
    failed: int


def _epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def _row(payload: dict[str, Any]) -> IngestRecord:
    return IngestRecord(
        uuid=uuid.UUID(payload["id"]),
        client_id=int(payload["client"]),
        ts=_epoch(payload["ts"]),
        sender=payload["sender"],
        message=payload["message"],
        sent_from_ip=payload.get("ip"),
        priority=payload.get("priority"),
        received_at=_epoch(payload["received"]),
    )


def records_store(*, records: list[dict[str, Any]], message_id: str = "") -> StoreResult:
    """Store a batch of queued records idempotently: a record already stored is skipped.

    Delivery is at least once (a worker killed after the commit but before the ack gets its
    message redelivered), so the insert ignores conflicts on the unique record id. A database
    outage raises, and the message is retried with backoff. A record the database refuses for
    itself (which validation should make impossible) is set aside in IngestFailedRecord, so one
    bad record neither blocks nor fails its batch.
    """
    now = timezone.now()
    rows: list[IngestRecord] = []
    failures: list[tuple[dict[str, Any], str]] = []
    for payload in records:
        try:
            row = _row(payload)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            failures.append((payload, f"malformed queued record: {type(exc).__name__}: {exc}"))
            continue
        row.stored_at = now
        rows.append(row)
    try:
        with transaction.atomic():
            IngestRecord.objects.bulk_create(rows, ignore_conflicts=True)
    except (DataError, IntegrityError) as exc:
        # Foreign keys are checked at COMMIT (deferred), so this is where a record of a deleted
        # client surfaces. Find the culprit(s) one by one; the others are stored.
        logger.warning("batch refused, storing one by one records=%d error=%s", len(rows), type(exc).__name__)
        for row in rows:
            try:
                with transaction.atomic():
                    IngestRecord.objects.bulk_create([row], ignore_conflicts=True)
            except (DataError, IntegrityError) as row_exc:
                payload = next(p for p in records if p.get("id") == str(row.uuid))
                failures.append((payload, f"database refused the record: {type(row_exc).__name__}: {row_exc}"))
    if failures:
        failed_records_save(entries=failures, message_id=message_id)
    logger.debug("stored batch records=%d failed=%d", len(rows) - len(failures), len(failures))
    return StoreResult(records=len(records), failed=len(failures))


# --- Failures and replays ---------------------------------------------------------------------
def _record_uuid(payload: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload["id"]))
    except (KeyError, ValueError):
        return uuid.uuid4()  # cannot be looked up by the client anyway; kept for the operator


def _client_id(payload: dict[str, Any]) -> int | None:
    try:
        return int(payload["client"])
    except (KeyError, TypeError, ValueError):
        return None


@transaction.atomic
def failed_records_save(*, entries: Iterable[tuple[dict[str, Any], str]], message_id: str = "") -> int:
    """Set records aside as failed (or failed again): they wait for an operator's replay.

    A record already set aside from the same message is left as it is: the dead-letter import
    (``ingest_deadletters --replay``) meets again what the worker recorded when it gave up.
    """
    by_uuid = {_record_uuid(payload): (payload, error) for payload, error in entries}
    if not by_uuid:
        return 0
    now = timezone.now()
    existing = dict(
        IngestFailedRecord.objects.select_for_update().filter(uuid__in=by_uuid).values_list("uuid", "message_id")
    )
    changed = 0
    for record_uuid, known_message_id in existing.items():
        if message_id and known_message_id == message_id:
            continue
        payload, error = by_uuid[record_uuid]
        changed += IngestFailedRecord.objects.filter(uuid=record_uuid).update(
            payload=payload,
            error=error[:10_000],
            message_id=message_id,
            attempts=F("attempts") + 1,
            failed_at=now,
            replayed_at=None,
        )
    created = IngestFailedRecord.objects.bulk_create(
        [
            IngestFailedRecord(
                uuid=record_uuid,
                client_id=_client_id(payload),
                payload=payload,
                error=error[:10_000],
                message_id=message_id,
                failed_at=now,
            )
            for record_uuid, (payload, error) in by_uuid.items()
            if record_uuid not in existing
        ],
        ignore_conflicts=True,  # a concurrent import of the same dead letter
    )
    changed += len(created)
    if changed:
        logger.warning("records set aside as failed count=%d message_id=%s", changed, message_id or "-")
    return changed


def dead_message_save(*, message: dict[str, Any], error: str | None = None) -> int:
    """Record the records of a dead-lettered store message (a ``Message.asdict()``) as failed."""
    records = (message.get("args") or [[]])[0]
    if not isinstance(records, list):
        records = []
    traceback_text = (message.get("options") or {}).get("traceback") or ""
    last_line = traceback_text.strip().splitlines()[-1] if traceback_text.strip() else "unknown error"
    # Retries counts every failed attempt in "retries", the first one included.
    attempts = (message.get("options") or {}).get("retries", "?")
    reason = error or f"gave up after {attempts} attempts: {last_line}"
    entries = [(payload, reason) for payload in records if isinstance(payload, dict)]
    return failed_records_save(entries=entries, message_id=str(message.get("message_id", "")))


def failed_records_replay(*, limit: int | None = None, uuids: Iterable[uuid.UUID] | None = None) -> int:
    """Queue failed records again (fresh retries); return how many were replayed.

    Published first and marked replayed after, so a crash in between replays a record twice,
    which the idempotent store absorbs. On the stub broker (embedded default) there is no worker
    outside this process, so the records are stored right here instead.
    """
    pending = IngestFailedRecord.objects.filter(replayed_at__isnull=True).order_by("failed_at", "id")
    if uuids is not None:
        pending = pending.filter(uuid__in=list(uuids))
    rows = list(pending.values_list("id", "payload")[:limit] if limit else pending.values_list("id", "payload"))
    batch_size = ingest_setting("PUBLISH_MAX_BATCH")
    inline = isinstance(dramatiq.get_broker(), StubBroker)
    replayed = 0
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        ids = [pk for pk, _ in chunk]
        payloads = [payload for _, payload in chunk]
        if inline:
            IngestFailedRecord.objects.filter(pk__in=ids).update(replayed_at=timezone.now())
            records_store(records=payloads, message_id="replay")
        else:
            batch_publish(payloads)
            IngestFailedRecord.objects.filter(pk__in=ids).update(replayed_at=timezone.now())
        replayed += len(chunk)
        logger.info("replayed failed records count=%d total=%d/%d", len(chunk), replayed, len(rows))
    return replayed
