"""Reads of the ingest pipeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Count, Min

from ingest.models import IngestFailedRecord, IngestOutbox, IngestRecord


def record_status(*, client_id: int, record_id: uuid.UUID) -> dict[str, Any] | None:
    """What became of a record this client sent: stored (with the record), queued, or failed.

    None when there is no such record for this client (the API answers 404 either way, so an id
    does not reveal whether another client's record exists).
    """
    record = IngestRecord.objects.filter(uuid=record_id, client_id=client_id).first()
    if record is not None:
        return {
            "id": str(record.uuid),
            "status": "stored",
            "record": {
                "ts": int(record.ts.timestamp()),
                "sender": record.sender,
                "message": record.message,
                "sent-from-ip": record.sent_from_ip,
                "priority": record.priority,
            },
            "received_at": record.received_at,
            "stored_at": record.stored_at,
        }
    queued = IngestOutbox.objects.filter(uuid=record_id, client_id=client_id).values_list("received_at", flat=True)
    for received_at in queued:
        return {"id": str(record_id), "status": "queued", "received_at": received_at}
    failed = IngestFailedRecord.objects.filter(uuid=record_id, client_id=client_id, replayed_at__isnull=True)
    for failed_at in failed.values_list("failed_at", flat=True):
        # The database error itself is for operators (admin, ingest_deadletters), not for clients.
        return {
            "id": str(record_id),
            "status": "failed",
            "detail": "The record could not be stored; it is kept for an operator to replay.",
            "failed_at": failed_at,
        }
    return None


def failed_records_pending_count() -> int:
    """Records set aside as failed and not replayed yet."""
    return IngestFailedRecord.objects.filter(replayed_at__isnull=True).count()


def outbox_pending_count() -> int:
    """Accepted records not stored yet (waiting for the relay or the worker)."""
    return IngestOutbox.objects.count()


def outbox_depth() -> tuple[int, datetime | None]:
    """Accepted records not stored yet, and when the oldest of them was accepted (None: empty).
    One aggregate query; the outbox holds only what is in flight, so it stays small while the
    workers keep up, and its size is what an alert looks at when they do not."""
    row = IngestOutbox.objects.aggregate(count=Count("pk"), oldest=Min("received_at"))
    return int(row["count"]), row["oldest"]


def records_export(*, client_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every record the client sent that is still here: stored, queued, or failed (a data export)."""
    stored = IngestRecord.objects.filter(client_id=client_id).order_by("id")
    # Plain dicts: the export document is JSON, whatever the queryset's row types.
    exported: dict[str, Any] = {
        "stored": list(
            stored.values("uuid", "ts", "sender", "message", "sent_from_ip", "priority", "received_at", "stored_at")
        ),
        "queued": list(IngestOutbox.objects.filter(client_id=client_id).values("uuid", "payload", "received_at")),
        "failed": list(
            IngestFailedRecord.objects.filter(client_id=client_id).values("uuid", "payload", "error", "failed_at")
        ),
    }
    return exported


def outbox_relayed_count() -> int:
    """Records in the outbox already published to the broker (waiting for a worker to store them)."""
    return IngestOutbox.objects.filter(relayed_at__isnull=False).count()
