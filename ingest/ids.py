"""Record ids: UUIDs (version 8, RFC 9562 "custom") that carry a short MAC of the client they were
issued to.

``GET /api/ingest/{id}`` must answer "queued" for a record that was accepted but not stored yet,
and 404 for an id this client was never given. Nothing is written at accept time (the broker holds
the record), so the id itself proves who it was issued to: 90 random bits, then 32 bits of
HMAC(SECRET_KEY, client id + the random part). Another client's id, or a made-up one, fails the
check (1 in 4 billion chance to pass, and then it can only ever read "queued"). Stored records are
looked up in the database by id *and* client, so the MAC guards nothing once a record is stored.

With an ``Idempotency-Key`` the random part is derived from (client, key) instead, so a retried
request gets the same id and the store keeps one row.
"""

from __future__ import annotations

import secrets
import uuid

from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "maas.ingest.record-id"
_TAG_BYTES = 4


def _tag(client_id: int, head: bytes) -> bytes:
    return salted_hmac(_SALT, client_id.to_bytes(8, "big") + head, algorithm="sha256").digest()[:_TAG_BYTES]


def _with_version(raw: bytes) -> bytearray:
    data = bytearray(raw[:16])
    data[6] = (data[6] & 0x0F) | 0x80  # version 8
    data[8] = (data[8] & 0x3F) | 0x80  # RFC 9562 variant
    return data


def record_id_new(*, client_id: int, idempotency_key: str | None = None) -> uuid.UUID:
    """A fresh id for ``client_id``; the same id again for the same (client, idempotency key)."""
    if idempotency_key is None:
        raw = secrets.token_bytes(16)
    else:
        raw = salted_hmac(_SALT + ".idempotency", f"{client_id}:{idempotency_key}", algorithm="sha256").digest()
    data = _with_version(raw)
    data[12:16] = _tag(client_id, bytes(data[:12]))
    return uuid.UUID(bytes=bytes(data))


def record_id_issued_to(*, record_id: uuid.UUID, client_id: int) -> bool:
    """Whether ``record_id`` was issued to ``client_id`` by :func:`record_id_new`."""
    data = record_id.bytes
    if record_id.version != 8:
        return False
    return constant_time_compare(data[12:16], _tag(client_id, data[:12]))
