"""Small helpers shared by the billing tests (plain functions, not fixtures)."""

from __future__ import annotations

import itertools
from typing import Any

from billing.models import LedgerEntry, TokenAccount
from billing.selectors import ledger_verify
from billing.services import PaidCallResult, paid_call

_calls = itertools.count(1)


def charge(
    client_id: int,
    *,
    price: Any = 1,
    key: str | None = None,
    fingerprint: str = "GET /api/memes?query=cat",
    produce: Any = None,
    **kwargs: Any,
) -> PaidCallResult:
    """One paid call serving a numbered fake meme."""
    number = next(_calls)
    return paid_call(
        client_id=client_id,
        price=price,
        request_key=f"GET /api/memes?query=cat&n={number}",
        idempotency_key=key,
        fingerprint=fingerprint,
        produce=produce or (lambda: {"meme": number}),
        serialize=lambda result: dict(result),
        **kwargs,
    )


def balance(client_id: int) -> int:
    return TokenAccount.objects.get(client_id=client_id).balance


def debits(client_id: int) -> int:
    return LedgerEntry.objects.filter(account_id=client_id, kind="debit").count()


def assert_ledger_consistent() -> None:
    report = ledger_verify()
    assert report.ok, [f"{p.client_id}: {p.problem}" for p in report.problems]
