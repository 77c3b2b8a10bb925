"""Billing reads: balances, usage, and the ledger's integrity check."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, Sum, Window
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from billing.models import LedgerEntry, TokenAccount


def account_balance(*, client_id: int) -> int:
    """The client's balance; 0 if it has no account yet."""
    # [:1] rather than first(): no ORDER BY for a primary-key lookup.
    found = list(TokenAccount.objects.filter(client_id=client_id).values_list("balance", flat=True)[:1])
    return found[0] if found else 0


def usage_for(*, client_id: int, days: int = 30, recent: int = 20) -> dict[str, Any]:
    """Paid calls and tokens spent: in total, per day (UTC) over the last ``days``, and the last calls.

    Three queries whatever the history's size: the totals are kept on the account row, the per-day
    figures and the last calls come from the (account, created_at) index.
    """
    account = TokenAccount.objects.filter(client_id=client_id).values("balance", "tokens_spent", "paid_calls").first()
    account = account or {"balance": 0, "tokens_spent": 0, "paid_calls": 0}
    debits = LedgerEntry.objects.filter(account_id=client_id, kind=LedgerEntry.Kind.DEBIT)
    since = timezone.now() - timedelta(days=days)
    per_day = (
        debits.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(calls=Count("id"), spent=Sum("amount"))
        .order_by("-day")
    )
    last_calls = debits.order_by("-created_at", "-id").values(
        "id", "created_at", "amount", "balance_after", "request_ref", "reason", "idempotency_key"
    )[:recent]
    return {
        "client_id": client_id,
        "balance": account["balance"],
        "total": {"calls": account["paid_calls"], "tokens_spent": account["tokens_spent"]},
        "per_day": [{"date": row["day"], "calls": row["calls"], "tokens_spent": -row["spent"]} for row in per_day],
        "recent_calls": [
            {
                "ledger_entry_id": row["id"],
                "at": row["created_at"],
                "charged": -row["amount"],
                "balance_after": row["balance_after"],
                "request": row["request_ref"],
                "reason": row["reason"],
                "idempotency_key": row["idempotency_key"],
            }
            for row in last_calls
        ],
    }


EXPORT_COLUMNS = (
    "ledger_entry_id",
    "at",
    "type",
    "amount",
    "balance_after",
    "reason",
    "request",
    "idempotency_key",
    "purchase_id",
)


def ledger_export_rows(
    *, client_id: int, since: datetime | None = None, until: datetime | None = None, newest_first: bool = False
) -> Iterator[dict[str, Any]]:
    """The client's ledger, oldest first: every paid call (``type`` "paid_call", ``amount`` negative)
    and every credit, as flat rows with the keys of :data:`EXPORT_COLUMNS`; ``since`` inclusive,
    ``until`` exclusive. Read in chunks (a server-side cursor on PostgreSQL), so a history of
    millions of calls streams in constant memory."""
    entries = LedgerEntry.objects.filter(account_id=client_id)
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    order = ("-created_at", "-id") if newest_first else ("created_at", "id")
    rows = entries.order_by(*order).values_list(
        "id", "created_at", "kind", "amount", "balance_after", "reason", "request_ref", "idempotency_key", "purchase_id"
    )
    for entry_id, at, kind, amount, balance_after, reason, request, key, purchase in rows.iterator(chunk_size=2000):
        yield {
            "ledger_entry_id": entry_id,
            "at": at,
            "type": "paid_call" if kind == LedgerEntry.Kind.DEBIT else "credit",
            "amount": amount,
            "balance_after": balance_after,
            "reason": reason,
            "request": request,
            "idempotency_key": key,
            "purchase_id": purchase,
        }


@dataclasses.dataclass
class LedgerProblem:
    client_id: int
    problem: str


@dataclasses.dataclass
class LedgerReport:
    accounts: int = 0
    entries: int = 0
    total_balance: int = 0
    problems: list[LedgerProblem] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def ledger_verify(*, chunk_accounts: int = 5000, progress: Callable[[int], None] | None = None) -> LedgerReport:
    """Check every account: balance == sum of its ledger, usage totals == its debits, and each
    entry's balance_after == the running sum of the account's amounts up to it (in id order).

    Works in chunks of account ids (each chunk two queries, done in the database), calling
    ``progress(accounts_done)`` after each.
    """
    report = LedgerReport()
    for low, high in _id_ranges(chunk_accounts):
        accounts = TokenAccount.objects.filter(client_id__gte=low, client_id__lt=high)
        entries = LedgerEntry.objects.filter(account_id__gte=low, account_id__lt=high)
        sums = accounts.annotate(
            ledger_sum=Coalesce(Sum("entries__amount"), 0),
            debit_sum=Coalesce(Sum("entries__amount", filter=Q(entries__kind="debit")), 0),
            debit_count=Count("entries", filter=Q(entries__kind="debit")),
        ).values_list("client_id", "balance", "ledger_sum", "tokens_spent", "debit_sum", "paid_calls", "debit_count")
        chunk_size = 0
        for client_id, balance, ledger_sum, spent, debit_sum, calls, debit_count in sums.order_by():
            chunk_size += 1
            report.total_balance += balance
            if balance != ledger_sum:
                off = balance - ledger_sum
                problem = f"balance {balance} != ledger sum {ledger_sum} ({off:+d})"
                report.problems.append(LedgerProblem(client_id, problem))
            if spent != -debit_sum or calls != debit_count:
                report.problems.append(
                    LedgerProblem(
                        client_id,
                        f"usage totals {calls} calls/{spent} tokens != ledger {debit_count} debits/{-debit_sum} tokens",
                    )
                )
        report.accounts += chunk_size
        report.entries += entries.count()
        broken = (
            entries.order_by()
            .annotate(running=Window(Sum("amount"), partition_by=[F("account_id")], order_by=F("id").asc()))
            .filter(~Q(running=F("balance_after")))
            .values_list("account_id", "id", "balance_after", "running")
        )
        for client_id, entry_id, balance_after, running in broken:
            report.problems.append(
                LedgerProblem(client_id, f"entry #{entry_id}: balance_after {balance_after} != running sum {running}")
            )
        if progress is not None:
            progress(report.accounts)
    return report


def _id_ranges(size: int) -> Iterator[tuple[int, int]]:
    bounds = TokenAccount.objects.order_by("client_id").values_list("client_id", flat=True)
    first, last = bounds.first(), bounds.last()
    if first is None or last is None:
        return
    for low in range(first, last + 1, size):
        yield low, low + size
