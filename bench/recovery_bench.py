"""Backup and point-in-time restore figures: the restore drill (deploy/recovery/restore-drill), run
several times at two sizes, medians to docs/benchmarks.md (section "recovery").

    python bench/recovery_bench.py [--runs 3] [--big-runs 1] [--big-ledger-rows 1000000]

Each run is a whole drill on PostgreSQL clusters of its own (DRILL_PORT, default 9330, and the next
ports), with its checks: a run whose checks fail fails the benchmark. The reference in the same run
is the backup of the same database: restore time / backup time says how a restore compares with
the backup the operator already knows the duration of.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import ROOT, median, progress, write_section

DRILL = ROOT / "deploy" / "recovery" / "restore-drill"


def one_drill(ledger_rows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="recovery-bench-") as tmp:
        out = Path(tmp) / "figures.json"
        command = [sys.executable, str(DRILL), "--json", str(out)]
        if ledger_rows:
            command += ["--ledger-rows", str(ledger_rows)]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            sys.exit(f"restore drill failed:\n{result.stderr[-4000:]}")
        figures: dict[str, Any] = json.loads(out.read_text())
        return figures


def row(label: str, runs: list[dict[str, Any]]) -> str:
    def m(key: str) -> float:
        return median([float(r[key]) for r in runs])

    ratio = median([r["restore_seconds"] / r["backup_seconds"] for r in runs])
    return (
        f"| {label} | {len(runs)} | {m('database_bytes') / 2**20:.0f} MiB | {m('backup_repo_bytes') / 2**20:.1f} MiB "
        f"| {m('backup_seconds'):.1f} s | {m('restore_seconds'):.1f} s ({m('restore_copy_seconds'):.1f} s copy) "
        f"| {ratio:.2f} | {m('rpo_seconds_median'):.1f} s (max {max(r['rpo_seconds_max'] for r in runs):.1f} s) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="Drills on the small database.")
    parser.add_argument("--big-runs", type=int, default=1, help="Drills with --big-ledger-rows more rows (0: none).")
    parser.add_argument("--big-ledger-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    small: list[dict[str, Any]] = []
    for n in range(args.runs):
        progress(f"drill {n + 1}/{args.runs} (sample database)")
        small.append(one_drill(0))
    big: list[dict[str, Any]] = []
    for n in range(args.big_runs):
        progress(f"drill {n + 1}/{args.big_runs} ({args.big_ledger_rows:,} more ledger rows)")
        big.append(one_drill(args.big_ledger_rows))
    lines = [
        "Each run: `deploy/recovery/restore-drill` (pgBackRest 2.x, lz4, `process-max=2`, repository on the same "
        "disk; PostgreSQL clusters of its own; `archive_timeout` = 5 s), its checks all passed. Restore = "
        "`pgbackrest restore --type=time` + WAL replay until promoted; RPO = a commit until its WAL segment is "
        "in the repository (what a lost primary disk would cost).",
        "",
        "| database | runs | size | backup in repo | full backup | restore (PITR) | restore / backup | RPO |",
        "|---|---|---|---|---|---|---|---|",
        row("sample catalogue, ~300 ledger rows", small),
    ]
    if big:
        rows = big[0]["ledger_rows"]
        lines.append(row(f"+ {rows:,} ledger rows", big))
    write_section(
        "recovery",
        "Backup and point-in-time restore (pgBackRest)",
        f"python bench/recovery_bench.py --runs {args.runs} --big-runs {args.big_runs}",
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
