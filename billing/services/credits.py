"""Credits: operator and purchase top-ups. Rare next to debits, so plain ORM with an explicit lock."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.selectors import client_exists
from billing import events, metrics
from billing.exceptions import ClientNotFound, PurchaseConflict
from billing.models import LedgerEntry, TokenAccount

logger = logging.getLogger("maas.billing")


def account_ensure(*, client_id: int) -> None:
    """Create the client's token account (balance 0) if it has none; safe under concurrency."""
    # INSERT … ON CONFLICT DO NOTHING: two first credits racing cannot both create it, nor fail.
    TokenAccount.objects.bulk_create([TokenAccount(client_id=client_id)], ignore_conflicts=True)


def account_credit(
    *, client_id: int, amount: int, reason: str, purchase_id: str | None = None, actor: str = ""
) -> LedgerEntry:
    """Add ``amount`` tokens to a client's account (created if absent) and write the ledger credit.

    A ``purchase_id`` already credited raises ``IntegrityError`` (unique index); use
    :func:`topup_create` for idempotent top-ups.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"A credit must be a positive whole number of tokens, not {amount!r}.")
    now = timezone.now()
    with transaction.atomic():
        account_ensure(client_id=client_id)
        # Lock the account row until commit: a concurrent debit or credit of the same account waits
        # here, so the balance we read is the one we change, and ledger entries of one account are
        # written one at a time, in order (each balance_after follows from the previous one).
        balance = TokenAccount.objects.select_for_update().values_list("balance", flat=True).get(client_id=client_id)
        TokenAccount.objects.filter(client_id=client_id).update(balance=F("balance") + amount, updated_at=now)
        entry = LedgerEntry.objects.create(
            account_id=client_id,
            kind=LedgerEntry.Kind.CREDIT,
            amount=amount,
            balance_after=balance + amount,
            reason=reason[:200],
            purchase_id=purchase_id,
            actor=actor[:150],
            created_at=now,
        )
    transaction.on_commit(
        lambda: events.account_credited.send(
            sender=TokenAccount,
            client_id=client_id,
            amount=amount,
            balance=entry.balance_after,
            ledger_entry_id=entry.pk,
            purchase_id=purchase_id,
            reason=entry.reason,
        )
    )
    logger.info("credit client_id=%s amount=%s balance=%s actor=%s", client_id, amount, entry.balance_after, actor)
    return entry


@dataclasses.dataclass(frozen=True, slots=True)
class TopUpResult:
    client_id: int
    tokens: int
    purchase_id: str
    balance_after: int
    ledger_entry_id: int
    created_at: datetime
    replayed: bool


def topup_create(*, client_id: int, tokens: int, purchase_id: str, actor: str = "") -> TopUpResult:
    """Credit a purchase exactly once.

    Replaying a ``purchase_id`` returns the first result (``replayed=True``) and credits nothing;
    the same id with another amount or client raises :class:`PurchaseConflict`. An unknown client
    raises :class:`ClientNotFound` (404).
    """
    existing = _purchase_entry(purchase_id)
    if existing is not None:
        return _replay(existing, client_id=client_id, tokens=tokens)
    if not client_exists(client_id=client_id):
        raise ClientNotFound(f"No client with id {client_id}.")
    try:
        entry = account_credit(
            client_id=client_id, amount=tokens, reason=f"top-up {purchase_id}", purchase_id=purchase_id, actor=actor
        )
    except IntegrityError:
        # A concurrent top-up with this purchase_id committed first (the unique index stopped us,
        # and our credit rolled back). Answer as a replay of the winner.
        existing = _purchase_entry(purchase_id)
        if existing is None:
            raise
        return _replay(existing, client_id=client_id, tokens=tokens)
    metrics.TOPUPS["credited"].inc()
    metrics.TOPUP_TOKENS.inc(entry.amount)
    return _result(entry, replayed=False)


def account_alert_thresholds_set(*, client_id: int, thresholds: Iterable[int]) -> None:
    """The balances below which :data:`billing.events.balance_threshold_crossed` is sent for this
    client (none: never). The owner of the subscriptions (webhooks) sets the whole list each time."""
    values = sorted({int(t) for t in thresholds if int(t) > 0})
    account_ensure(client_id=client_id)
    # No lock needed: a debit reads the list in the statement that changes the balance, so it sees
    # either the old list or the new one, and either is a correct answer for a call made meanwhile.
    TokenAccount.objects.filter(client_id=client_id).update(alert_thresholds=values or None)


def _purchase_entry(purchase_id: str) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(purchase_id=purchase_id).first()


def _replay(entry: LedgerEntry, *, client_id: int, tokens: int) -> TopUpResult:
    if entry.account_id != client_id or entry.amount != tokens:
        raise PurchaseConflict(
            details={"purchase_id": entry.purchase_id, "credited_client": entry.account_id, "credited": entry.amount}
        )
    metrics.TOPUPS["replayed"].inc()
    return _result(entry, replayed=True)


def _result(entry: LedgerEntry, *, replayed: bool) -> TopUpResult:
    return TopUpResult(
        client_id=entry.account_id,
        tokens=entry.amount,
        purchase_id=entry.purchase_id or "",
        balance_after=entry.balance_after,
        ledger_entry_id=entry.pk,
        created_at=entry.created_at,
        replayed=replayed,
    )
