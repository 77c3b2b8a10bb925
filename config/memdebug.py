"""tracemalloc snapshots on demand, for hunting a memory leak in a running process (the soak,
bench/soak.py; the runbook, docs/operations.md).

With ``MAAS_TRACEMALLOC=1`` (frames: ``MAAS_TRACEMALLOC_FRAMES``, default 5) every process that
loads the settings (each server process, each worker process) starts tracemalloc, and SIGUSR2
takes a snapshot: the first one is the baseline (send it after the warm-up), each later one is
compared with it and the 25 allocation sites that grew most are written to
``$MAAS_TRACEMALLOC_DIR/tracemalloc-<pid>-<n>.txt`` (default: the temp dir). Off by default:
tracemalloc roughly doubles the cost of every allocation.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import tracemalloc
from pathlib import Path
from types import FrameType

TOP = 25
_state: dict[str, object] = {}


def _on_signal(_signum: int, _frame: FrameType | None) -> None:
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    )
    count = int(_state.get("count", 0)) + 1  # type: ignore[call-overload]
    _state["count"] = count
    directory = Path(os.environ.get("MAAS_TRACEMALLOC_DIR") or tempfile.gettempdir())
    path = directory / f"tracemalloc-{os.getpid()}-{count}.txt"
    baseline = _state.get("baseline")
    if not isinstance(baseline, tracemalloc.Snapshot):
        _state["baseline"] = snapshot
        total = sum(stat.size for stat in snapshot.statistics("filename"))
        path.write_text(f"baseline pid={os.getpid()} traced_bytes={total}\n")
        return
    stats = snapshot.compare_to(baseline, "traceback")
    growth = sum(stat.size_diff for stat in stats)
    lines = [f"pid={os.getpid()} snapshot={count} growth_since_baseline_bytes={growth}"]
    for stat in stats[:TOP]:
        lines.append(f"{stat.size_diff:+d} B ({stat.count_diff:+d} blocks) now {stat.size} B")
        lines.extend(f"    {line}" for line in stat.traceback.format())
    path.write_text("\n".join(lines) + "\n")


def install() -> None:
    """Start tracing and listen for SIGUSR2, if ``MAAS_TRACEMALLOC=1``; once per process."""
    if os.environ.get("MAAS_TRACEMALLOC") != "1" or _state.get("installed"):
        return
    tracemalloc.start(int(os.environ.get("MAAS_TRACEMALLOC_FRAMES", "5")))
    # Only the main thread may set a signal handler; a process that loads settings elsewhere is
    # traced but not signalled.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGUSR2, _on_signal)
    _state["installed"] = True
