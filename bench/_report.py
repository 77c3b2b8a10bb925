"""Shared helpers for the benchmark scripts: machine description, medians, and writing a section
of docs/benchmarks.md between markers so that each script owns its own part of the file."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
# The Library of Congress data (../shared/data, see its PROVENANCE.md): next to the checkout, or one
# level further up for a worktree one level deeper. A user's clone has none: scripts fall back or say so.
SHARED_DATA = next(
    (p for p in (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data") if p.exists()),
    ROOT.parent / "shared" / "data",
)
LOC_SUBSET = SHARED_DATA / "loc_memegenerator_subset.csv"
LOC_LANGUAGES = SHARED_DATA / "loc_memegenerator_language.csv"


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


def wait_until_serving(
    process: subprocess.Popen, port: int, *, what: str, seconds: float, log: Path | None = None
) -> None:
    """Until ``GET /api/health`` on ``port`` answers 200; raises when the server exits first (quoting
    the end of its ``log``, if it has one) or is not serving within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            raise RuntimeError(f"{what} exited with {process.returncode}: {tail}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as response,
        ):
            if response.status == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not serving in {seconds:.0f} s" + (f"; see {log}" if log else ""))
        time.sleep(0.2)


def git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "uncommitted"


SERVE = ROOT / "deploy" / "serve"


def serve_command(*, port: int, **knobs: int | str) -> tuple[list[str], dict[str, str]]:
    """The production server as it ships: ``deploy/serve`` on 127.0.0.1:``port``, as (command,
    environment to add). ``knobs`` override its settings (``WEB_THREADS=8``); the drain after SIGTERM
    is skipped (``WEB_DRAIN_SECONDS=0``): a benchmark stops a server nobody routes to."""
    env = {"HOST": "127.0.0.1", "PORT": str(port), "WEB_DRAIN_SECONDS": "0"}
    env.update({name: str(value) for name, value in knobs.items()})
    return [sys.executable, str(SERVE)], env


def serve_description() -> str:
    """The granian options ``deploy/serve`` uses by default, for the reports."""
    command = subprocess.run(
        [sys.executable, str(SERVE), "--print-command"], capture_output=True, text=True, check=True
    ).stdout.split()
    options = command[command.index("granian") + 1 : -1]  # after "-m granian", before the application
    shown: list[str] = []
    skip = False
    for option in options:
        if skip:
            skip = False
        elif option in ("--host", "--port", "--working-dir", "--static-path-mount"):
            skip = True  # where it listens, runs and finds the static files: not configuration
        else:
            shown.append(option)
    return "`deploy/serve` (granian " + " ".join(shown) + ")"


def stop_process(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM to the process itself (``deploy/serve`` forwards it to granian), SIGKILL to its
    process group if it has not exited in ``timeout`` seconds. Signalling the whole group would
    hit granian (or Dramatiq's worker processes) twice, which they take as "stop now"."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


class ConnectionCounter:
    """Requests per connection of a load generator, read from the kernel: every established TCP
    socket to ``port`` (the client side: ``ss`` filters on the destination port) and its
    ``data_segs_out``, the data segments it sent. wrk sends each request in one write on a
    TCP_NODELAY socket and waits for the answer before the next one, so one segment is one request.

    Sampled every ``interval`` seconds in a thread while the load runs; the last sample of each
    socket is kept, so the requests of the last interval before the generator stops are not
    counted. Sockets in ``exclude`` (local ports of idle connections opened on purpose) are left out.
    """

    _SOCKET = re.compile(r"^\S+\s+\S+\s+\S+:(\d+)\s+\S+:\d+")
    _SEGMENTS = re.compile(r"data_segs_out:(\d+)")

    def __init__(self, port: int, *, exclude: frozenset[int] = frozenset(), interval: float = 0.5) -> None:
        self.port = port
        self.exclude = exclude
        self.interval = interval
        self.counts: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="connection-counter", daemon=True)

    def __enter__(self) -> ConnectionCounter:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        output = subprocess.run(
            ["ss", "-tinH", "state", "established", f"( dport = :{self.port} )"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        local_port: int | None = None
        for line in output.splitlines():
            socket_line = self._SOCKET.match(line)
            if socket_line:
                local_port = int(socket_line.group(1))
                if local_port not in self.exclude:
                    self.counts.setdefault(local_port, 0)
                continue
            segments = self._SEGMENTS.search(line)
            if local_port is not None and local_port not in self.exclude and segments:
                self.counts[local_port] = max(self.counts.get(local_port, 0), int(segments.group(1)))

    def summary(self) -> dict[str, int]:
        """``connections`` seen; requests answered on the least and the most served of them (a
        connection that sent k requests had k - 1 answered, the last one may be in flight);
        ``unserved``: connections that never got an answer."""
        answered = [max(0, sent - 1) for sent in self.counts.values()]
        return {
            "connections": len(answered),
            "min": min(answered, default=0),
            "max": max(answered, default=0),
            "unserved": sum(1 for n in answered if n == 0),
        }


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
