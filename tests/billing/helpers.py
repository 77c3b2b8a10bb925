"""Small helpers shared by the billing tests (plain functions, not fixtures)."""

from __future__ import annotations

import itertools
from typing import Any

from billing.models import LedgerEntry, TokenAccount
from billing.selectors import ledger_verify
from billing.services import PaidCallResult, PaidRequest, account_debit, account_funds_check, paid_call_replay

_calls = itertools.count(1)


def charge(
    client_id: int,
    *,
    price: Any = 1,
    key: str | None = None,
    fingerprint: str = "GET /api/memes?query=cat",
    produce: Any = None,
    check_balance_first: bool = False,
    **kwargs: Any,
) -> PaidCallResult:
    """One paid call serving a numbered fake meme, in billing's steps as a paid view takes them:
    replay? → (can the client pay at all?) → choose what to serve → debit."""
    number = next(_calls)
    paid = PaidRequest(request_ref=f"GET /api/memes?query=cat&n={number}", idempotency_key=key, fingerprint=fingerprint)
    replay = paid_call_replay(client_id=client_id, paid=paid)
    if replay is not None:
        return replay
    if check_balance_first:
        account_funds_check(client_id=client_id, amount=price)
    served = (produce or (lambda: {"meme": number}))()
    amount = price(served) if callable(price) else price
    return account_debit(
        client_id=client_id, amount=amount, paid=paid, payload=dict(served), reason="meme served", **kwargs
    )


def balance(client_id: int) -> int:
    return TokenAccount.objects.get(client_id=client_id).balance


def debits(client_id: int) -> int:
    return LedgerEntry.objects.filter(account_id=client_id, kind="debit").count()


def assert_ledger_consistent() -> None:
    report = ledger_verify()
    assert report.ok, [f"{p.client_id}: {p.problem}" for p in report.problems]
