"""Shared helpers for the benchmark scripts: machine description, medians, and writing a section
of docs/benchmarks.md between markers so that each script owns its own part of the file."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "uncommitted"


def granian_command(*, port: int, workers: int = 2, backpressure: int = 8) -> list[str]:
    """The production server as the benchmarks run it: granian WSGI on 127.0.0.1. ``--backpressure``
    caps the threads per worker (the default thrashes on 2 cores, see ../shared/MEASUREMENTS.md)."""
    return [
        str(Path(sys.executable).parent / "granian"),
        "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--backpressure", str(backpressure), "--no-access-log",
        "config.wsgi:application",
    ]  # fmt: skip


def write_section(name: str, title: str, command: str, body_markdown: str) -> None:
    """Replace (or append) the section ``name`` of docs/benchmarks.md and print it."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- bench:{name}:start -->\n## {title}\n\n"
        f"- Machine: {machine()}\n- Command: `{command}`\n- Run: {stamp}, revision {git_revision()}\n\n"
        f"{body_markdown.strip()}\n<!-- bench:{name}:end -->"
    )
    print(section)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    text = (
        REPORT.read_text()
        if REPORT.exists()
        else (
            "# Benchmarks\n\nFigures written by the scripts under `bench/` (each owns one section below). "
            "Machines are noisy 2-core boxes: figures are medians of several runs, with a ratio to a reference "
            "measured in the same run.\n"
        )
    )
    pattern = re.compile(rf"<!-- bench:{re.escape(name)}:start -->.*?<!-- bench:{re.escape(name)}:end -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    REPORT.write_text(text)
