"""Reads of the ingest pipeline."""

from __future__ import annotations

import uuid
from typing import Any

from ingest.ids import record_id_issued_to
from ingest.models import IngestFailedRecord, IngestRecord


def record_status(*, client_id: int, record_id: uuid.UUID) -> dict[str, Any] | None:
    """What became of a record this client sent: stored (with the record), failed, or queued.

    None when the id is not this client's (the API answers 404, as for an id that never existed).
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
    failed = (
        IngestFailedRecord.objects.filter(uuid=record_id, client_id=client_id, replayed_at__isnull=True)
        .only("failed_at")
        .first()
    )
    if failed is not None:
        # The database error itself is for operators (admin, ingest_deadletters), not for clients.
        return {
            "id": str(record_id),
            "status": "failed",
            "detail": "The record could not be stored; it is kept for an operator to replay.",
            "failed_at": failed.failed_at,
        }
    if record_id_issued_to(record_id=record_id, client_id=client_id):
        return {"id": str(record_id), "status": "queued"}
    return None


def failed_records_pending_count() -> int:
    """Records set aside as failed and not replayed yet."""
    return IngestFailedRecord.objects.filter(replayed_at__isnull=True).count()
