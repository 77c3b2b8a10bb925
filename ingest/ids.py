"""Record ids: random (UUID4), or derived from the client's ``Idempotency-Key`` (UUID5) so that a
retried request gets the same id and the record is stored once."""

from __future__ import annotations

import uuid

# Fixed namespace for idempotency-derived ids (any constant UUID would do; it must never change).
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1f7c0e-3a7b-5d0e-9c61-8a8e4d1b2c3f")


def record_id_new(*, client_id: int, idempotency_key: str | None = None) -> uuid.UUID:
    """A fresh id; the same id again for the same (client, idempotency key)."""
    if idempotency_key is None:
        return uuid.uuid4()
    # The client id is part of the name: two clients using the same key get different records.
    return uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{client_id}:{idempotency_key}")
