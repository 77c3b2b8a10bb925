from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from billing.models import TokenAccount
from billing.selectors import ledger_verify

logger = logging.getLogger("maas.billing")


class Command(BaseCommand):
    help = (
        "Verify every token account: balance == sum of its ledger, usage totals == its debits, and each "
        "entry's balance_after follows from the previous one. Exits non-zero naming the accounts on any difference."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk", type=int, default=5000, help="Accounts checked per pair of queries.")
        parser.add_argument("--max-problems", type=int, default=50, help="Problems listed before summarising.")

    def handle(self, *args: Any, chunk: int, max_problems: int, **options: Any) -> None:
        total = TokenAccount.objects.count()
        with tqdm(total=total, unit="account", disable=total < 50_000 or options["verbosity"] < 1) as bar:
            report = ledger_verify(chunk_accounts=chunk, progress=lambda done: bar.update(done - bar.n))
        summary = (
            f"accounts={report.accounts} entries={report.entries} total_balance={report.total_balance} "
            f"problems={len(report.problems)}"
        )
        if report.ok:
            logger.info("check_ledger ok %s", summary)
            self.stdout.write(f"Ledger OK: {summary}")
            return
        for problem in report.problems[:max_problems]:
            self.stderr.write(f"client {problem.client_id}: {problem.problem}")
        if len(report.problems) > max_problems:
            self.stderr.write(f"... and {len(report.problems) - max_problems} more")
        clients = sorted({p.client_id for p in report.problems})
        logger.error("check_ledger failed %s clients=%s", summary, clients)
        named = ", ".join(map(str, clients[:100]))
        raise CommandError(f"Ledger inconsistent for {len(clients)} account(s): clients {named}. {summary}")
