"""Erasure of a client's personal data from billing, keeping the books whole.

The ledger is append-only, amounts and balances forever. What a ledger entry says about the person
is in its free-text columns: ``request_ref`` (their query strings: search words, coordinates),
``idempotency_key`` and ``actor``. An erasure empties those three and nothing else; on PostgreSQL
the append-only trigger allows exactly that update and refuses any other (migration 0004). The
entries stay on the client's account, whose client is renamed ``erased-<id>`` by accounts: the
amounts live on under that pseudonym, and ``check_ledger`` still holds.
"""

from __future__ import annotations

from django.db import models, transaction

from billing.models import IdempotencyRecord, LedgerEntry


@transaction.atomic
def ledger_personal_data_erase(*, client_id: int) -> int:
    """Empty the personal columns of the client's ledger and delete its stored call responses;
    returns how many ledger entries were redacted."""
    IdempotencyRecord.objects.filter(client_id=client_id).delete()
    entries = LedgerEntry.objects.filter(account_id=client_id)
    # LedgerQuerySet.update refuses every update; this one redaction goes past it on purpose.
    return models.QuerySet.update(entries, request_ref="", idempotency_key=None, actor="")
