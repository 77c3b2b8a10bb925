"""What low-balance webhooks cost a paid call's debit: ``billing.services.account_debit`` for
clients without thresholds (the usual case: the account's ``alert_thresholds`` is NULL) against
clients with two thresholds far below their balance (the statement returns them, Python compares;
no crossing, so no event). Same process, same run, interleaved blocks, CPU and wall time per debit.

    .venv/bin/python bench/webhooks_bench.py [--runs 7] [--debits 1000] [--no-report]

Needs PostgreSQL on 127.0.0.1 (default: database maas_bench_webhooks, created if missing). Starts
no process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _report import median, progress, write_section  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/maas_bench_webhooks"
CLIENTS = 100
BLOCK = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--debits", type=int, default=1000, help="debits per kind of client and run")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from billing_bench import _create_database

    _create_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.models import Client
    from accounts.services import client_create
    from billing.models import TokenAccount
    from billing.services import PaidRequest, account_credit, account_debit

    call_command("migrate", verbosity=0)
    ids: dict[str, list[int]] = {"plain": [], "thresholds": []}
    for kind in ids:
        for i in range(CLIENTS):
            name = f"webhooks-bench-{kind}-{i}"
            client = Client.objects.filter(name=name).first() or client_create(name=name)
            ids[kind].append(client.pk)
    for client_id in ids["plain"] + ids["thresholds"]:
        if TokenAccount.objects.get(client_id=client_id).balance < 1_000_000:
            account_credit(client_id=client_id, amount=10_000_000, reason="bench")
    TokenAccount.objects.filter(client_id__in=ids["plain"]).update(alert_thresholds=None)
    TokenAccount.objects.filter(client_id__in=ids["thresholds"]).update(alert_thresholds=[10, 100])
    paid = PaidRequest(request_ref="GET /api/memes?query=cat")
    payload = {"memes": [{"id": 1}]}

    def block(kind: str, start: int) -> tuple[float, float]:
        clients = ids[kind]
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(start, start + BLOCK):
            account_debit(client_id=clients[i % CLIENTS], amount=1, paid=paid, payload=payload, reason="bench")
        return time.process_time() - cpu, time.perf_counter() - wall

    for kind in ids:  # warm the connection and the statement
        block(kind, 0)
    cpu_us: dict[str, list[float]] = {kind: [] for kind in ids}
    wall_us: dict[str, list[float]] = {kind: [] for kind in ids}
    ratios: list[float] = []
    for run in range(1, args.runs + 1):
        totals = {kind: [0.0, 0.0] for kind in ids}
        for start in range(0, args.debits, BLOCK):
            # Interleaved, in alternating order (ABBA): both kinds see the same machine, neither always goes first.
            for kind in list(ids) if (start // BLOCK) % 2 == 0 else list(ids)[::-1]:
                cpu, wall = block(kind, start)
                totals[kind][0] += cpu
                totals[kind][1] += wall
        for kind in ids:
            cpu_us[kind].append(totals[kind][0] / args.debits * 1e6)
            wall_us[kind].append(totals[kind][1] / args.debits * 1e6)
        ratios.append(cpu_us["thresholds"][-1] / cpu_us["plain"][-1])
        progress(
            f"run {run}/{args.runs}: CPU µs/debit plain {cpu_us['plain'][-1]:.1f}, "
            f"thresholds {cpu_us['thresholds'][-1]:.1f}"
        )
    labels = {
        "plain": "no webhook threshold (`alert_thresholds` NULL)",
        "thresholds": "two thresholds, not crossed",
    }
    rows = "\n".join(
        f"| {labels[kind]} | {median(cpu_us[kind]):.1f} | {min(cpu_us[kind]):.1f} to {max(cpu_us[kind]):.1f} "
        f"| {median(wall_us[kind]):.1f} |"
        for kind in ids
    )
    body = f"""
`billing.services.account_debit` called directly (PostgreSQL single statement, autocommit),
{args.debits} debits per kind and run in interleaved blocks of {BLOCK} (alternating which goes first),
{CLIENTS} clients of each kind in turn; median of {args.runs} runs. CPU is this process's (user +
system); wall includes the PostgreSQL round trip.

| client | CPU µs/debit (median) | range | wall µs/debit (median) |
|---|---:|---:|---:|
{rows}

Same-run ratio, thresholds to plain (CPU): median {median(ratios):.3f} (runs: {", ".join(f"{r:.3f}" for r in ratios)}).
"""
    command = f"python bench/webhooks_bench.py --runs {args.runs} --debits {args.debits}"
    if args.no_report:
        print(body)
    else:
        write_section("webhooks-hot-path", "Webhooks: what a threshold costs the debit", command, body)


if __name__ == "__main__":
    main()
