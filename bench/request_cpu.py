"""CPU per request inside one web process: where the paid call's and the ingest accept's budget goes.

The HTTP benchmarks (billing_bench.py, ingest_bench.py) measure throughput, where the web process
shares two cores with PostgreSQL, Redis and wrk. This one calls the WSGI application directly, in
one thread, on PostgreSQL + Redis, and reads the process's own CPU time (user + system) per
request: the figure that optimising the Python side moves, free of the load generator's noise.
Per run, in the same process: ``GET /api/health`` (the hello-world DRF view, the reference),
the paid ``GET /api/memes?query=cat`` (API keys of 200 clients in turn), the same for 200 other
clients that each have a low-balance webhook threshold (far below their balance: the hot path's
extra work is reading the thresholds back from the debit and comparing, no crossing) and
``POST /api/ingest`` with the issue's example record.

    .venv/bin/python bench/request_cpu.py [--runs 5] [--requests 2000] [--no-report]
    .venv/bin/python bench/request_cpu.py --against main     # or a worktree: --against ../main

``--against`` compares this tree with another version of the code (a git ref, checked out in a
temporary worktree, or a directory): each run measures both, one after the other, each in a fresh
process, and the report gives the median difference per request of each scenario and the ratios
to the hello-world view of the same process. That is how the cost of a change (the metrics of
issue 14) is measured: the machine's drift between two separate runs is larger than the change.

Both run as deploy/serve runs the application: prometheus_client in multiprocess mode (a fresh
``PROMETHEUS_MULTIPROC_DIR``), where every counter increment writes to a memory-mapped file.

Needs PostgreSQL and Redis on 127.0.0.1 (defaults: the billing benchmark's database
maas_bench_billing and its clients, created if missing; Redis db 6). Starts no process: nothing
listens, nothing to stop.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SELF = Path(__file__).resolve()


def _code_root() -> Path:
    """The code measured: this tree, or ``--code-dir`` (read before anything is imported from it)."""
    if "--code-dir" in sys.argv:
        return Path(sys.argv[sys.argv.index("--code-dir") + 1]).resolve()
    return SELF.parent.parent


ROOT = _code_root()
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _report import median, progress, write_section  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/maas_bench_billing"  # shares the billing benchmark's clients
DEFAULT_REDIS = "redis://127.0.0.1:6379/6"
PAYING_CLIENTS = 200


def _environ(method: str, path: str, query: str = "", key: str | None = None, body: bytes = b"") -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
    }
    if key:
        environ["HTTP_X_TOKEN"] = key
    if body:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def _caller(application: Any, make_environ: Callable[[int], dict[str, Any]], expected: int) -> Callable[[int], None]:
    def call(i: int) -> None:
        statuses: list[str] = []
        result = application(make_environ(i), lambda status, headers, exc_info=None: statuses.append(status))
        try:
            b"".join(result)
        finally:
            result.close()
        if not statuses[0].startswith(str(expected)):
            raise SystemExit(f"expected {expected}, got {statuses[0]}: is the benchmark database set up?")

    return call


def _prepare() -> tuple[list[str], list[str], str]:
    """The billing benchmark's clients (sample catalogue, plenty of tokens, fresh keys) and an
    ingest client with a fresh key. Returns (paying keys, paying keys with a threshold, ingest key)."""
    from billing_bench import _prepare as billing_clients_prepare
    from django.contrib.auth.models import Group

    from accounts.models import Client
    from accounts.roles import INGEST
    from accounts.services import api_key_create, client_create

    spread, _, _ = billing_clients_prepare("memes", hot_tokens=1, spread_tokens=1_000_000)
    Group.objects.get_or_create(name=INGEST)
    sender = Client.objects.filter(name="cpu-bench-ingest").first() or client_create(
        name="cpu-bench-ingest", roles=[INGEST]
    )
    from accounts.selectors import api_key_find
    from billing.models import TokenAccount

    plain, watched = spread[:PAYING_CLIENTS], spread[PAYING_CLIENTS : 2 * PAYING_CLIENTS]

    def ids(keys: list[str]) -> list[int]:
        return [found.client_id for key in keys if (found := api_key_find(raw_key=key)) is not None]

    # What webhooks.services sets for a client with a balance.below_threshold webhook. A version of the
    # code from before webhooks (--against) has no thresholds: both groups are then plain paid calls.
    if not any(field.name == "alert_thresholds" for field in TokenAccount._meta.get_fields()):
        return plain, watched, api_key_create(client=sender, name="cpu-bench")[1]
    TokenAccount.objects.filter(client_id__in=ids(plain)).update(alert_thresholds=None)
    TokenAccount.objects.filter(client_id__in=ids(watched)).update(alert_thresholds=[10, 100])
    return plain, watched, api_key_create(client=sender, name="cpu-bench")[1]


def _cpu_per_request(call: Callable[[int], None], requests: int) -> float:
    """Milliseconds of this process's CPU (user + system) per request."""
    for i in range(min(200, requests)):  # warm: connections, caches, the index
        call(i)
    start = time.process_time()
    for i in range(requests):
        call(i)
    return (time.process_time() - start) / requests * 1000


SCENARIOS = (
    "hello-world DRF view `GET /api/health` (reference)",
    "paid `GET /api/memes?query=cat` (200 clients in turn)",
    "paid `GET /api/memes?query=cat`, 200 other clients with a webhook threshold",
    "`POST /api/ingest` (the issue's example record)",
)


def _measure(runs: int, requests: int) -> list[dict[str, float]]:
    """Set up Django on the benchmark database and measure every scenario ``runs`` times: one dict of
    ms/request by scenario per run."""
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    os.environ.setdefault("CACHE_KEY_PREFIX", "cpu-bench")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from billing_bench import _create_database

    from ingest.validation import EXAMPLE_RECORD

    _create_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings

    # Accept only, no in-process worker draining the outbox on the same CPU (emptied at the end).
    settings.INGEST = {**getattr(settings, "INGEST", {}), "EMBEDDED_WORKER": False}
    keys, watched_keys, ingest_key = _prepare()
    os.environ["MAAS_WARM_ON_START"] = "1"
    from config.wsgi import application

    body = json.dumps(EXAMPLE_RECORD).encode()
    health, paid, watched, ingest = SCENARIOS
    scenarios = {
        health: _caller(application, lambda i: _environ("GET", "/api/health"), 200),
        paid: _caller(application, lambda i: _environ("GET", "/api/memes", "query=cat", keys[i % len(keys)]), 200),
        watched: _caller(
            application, lambda i: _environ("GET", "/api/memes", "query=cat", watched_keys[i % len(watched_keys)]), 200
        ),
        ingest: _caller(application, lambda i: _environ("POST", "/api/ingest", key=ingest_key, body=body), 202),
    }
    figures = [{name: _cpu_per_request(call, requests) for name, call in scenarios.items()} for _ in range(runs)]
    _empty_outbox()
    return figures


def _one_process_run(code_dir: Path, requests: int) -> dict[str, float]:
    """One run of every scenario in a fresh process measuring the code in ``code_dir``."""
    metrics_dir = tempfile.mkdtemp(prefix="maas-bench-metrics-")
    try:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
        command = [sys.executable, str(SELF), "--code-dir", str(code_dir), "--requests", str(requests), "--json"]
        output = subprocess.run(command, env=env, cwd=code_dir, capture_output=True, text=True, check=False)
        if output.returncode != 0:
            raise SystemExit(f"the run of {code_dir} failed:\n{output.stderr[-3000:]}")
        return dict(json.loads(output.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _checkout(against: str) -> tuple[Path, Path | None]:
    """The directory of the code to compare with: ``against`` itself if it is one, else that git ref
    exported (``git archive``, no worktree registered) to a temporary directory, returned second to
    be removed."""
    if Path(against).is_dir():
        return Path(against).resolve(), None
    target = Path(tempfile.mkdtemp(prefix="maas-bench-against-"))
    archive = subprocess.run(
        ["git", "-C", str(SELF.parent.parent), "archive", "--format=tar", against], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target, target


def _compare(against: str, runs: int, requests: int, no_report: bool) -> None:
    other, worktree = _checkout(against)
    this = SELF.parent.parent
    try:
        pairs: list[tuple[dict[str, float], dict[str, float]]] = []
        for run in range(1, runs + 1):
            # Alternate which goes first, so a drift of the machine within a run favours neither.
            first, second = (other, this) if run % 2 else (this, other)
            measured = {first: _one_process_run(first, requests), second: _one_process_run(second, requests)}
            pairs.append((measured[other], measured[this]))
            progress(
                f"run {run}/{runs}: "
                + ", ".join(f"{measured[other][n]:.3f} -> {measured[this][n]:.3f}" for n in SCENARIOS)
                + " ms/request"
            )
    finally:
        if worktree is not None:
            shutil.rmtree(worktree, ignore_errors=True)
    reference = SCENARIOS[0]
    rows = []
    for name in SCENARIOS:
        before = [a[name] for a, _ in pairs]
        after = [b[name] for _, b in pairs]
        added_us = [(b[name] - a[name]) * 1000 for a, b in pairs]
        ratio_before = [a[name] / a[reference] for a, _ in pairs]
        ratio_after = [b[name] / b[reference] for _, b in pairs]
        rows.append(
            f"| {name} | {median(before):.3f} | {median(after):.3f} | {median(added_us):+.1f} "
            f"({min(added_us):+.1f} to {max(added_us):+.1f}) | "
            f"{median(ratio_before):.2f}x -> {median(ratio_after):.2f}x |"
        )
    label = against if worktree is not None else Path(against).name
    body_md = f"""
This tree against `{label}`, {runs} runs of {requests} requests per scenario; in each run both
versions are measured one after the other (which goes first alternates), each in a fresh process
calling the WSGI application directly, one thread, PostgreSQL + Redis on 127.0.0.1, prometheus_client
in multiprocess mode as deploy/serve runs it. CPU time (user + system) of that process per request;
"added" is the median over runs of the per-run difference, with its range.

| request | `{label}` ms/request | this tree ms/request | added µs/request (range) | ratio to hello-world |
|---|---:|---:|---:|---:|
{chr(10).join(rows)}
"""
    command = f"python bench/request_cpu.py --against {against} --runs {runs} --requests {requests}"
    if no_report:
        print(body_md)
    else:
        write_section("request-cpu-against", "CPU per request: this tree against another version", command, body_md)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000, help="requests per scenario and run")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--against", help="a git ref or a directory of another version of the code to compare with")
    parser.add_argument("--code-dir", help=argparse.SUPPRESS)  # internal: the code a --json run measures
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # internal: one run, JSON out
    args = parser.parse_args()

    if args.json:
        print(json.dumps(_measure(1, args.requests)[0]))
        return
    if args.against:
        _compare(args.against, args.runs, args.requests, args.no_report)
        return
    # This tree alone, each run in a fresh process like the comparison's.
    results: dict[str, list[float]] = {name: [] for name in SCENARIOS}
    ratios: dict[str, list[float]] = {name: [] for name in SCENARIOS}
    for run in range(1, args.runs + 1):
        figures = _one_process_run(ROOT, args.requests)
        reference = figures[SCENARIOS[0]]
        for name in SCENARIOS:
            results[name].append(figures[name])
            ratios[name].append(figures[name] / reference)
        progress(f"run {run}/{args.runs}: " + ", ".join(f"{figures[n]:.3f}" for n in SCENARIOS) + " ms/request")

    rows = "\n".join(
        f"| {name} | {median(results[name]):.3f} | {min(results[name]):.3f} to {max(results[name]):.3f} | "
        f"{median(ratios[name]):.1f}x |"
        for name in SCENARIOS
    )
    body_md = f"""
One web process calling the WSGI application directly (no server, no load generator), one thread,
PostgreSQL + Redis on 127.0.0.1, prometheus_client in multiprocess mode as deploy/serve runs it; its
own CPU time (user + system) per request, {args.requests} requests per scenario, median of {args.runs}
runs (each in a fresh process). The ratio is to the hello-world view in the same run.

| request | CPU ms/request (median) | range | ratio to hello-world |
|---|---:|---:|---:|
{rows}
"""
    command = f"python bench/request_cpu.py --runs {args.runs} --requests {args.requests}"
    if args.no_report:
        print(body_md)
    else:
        write_section("request-cpu", "CPU per request in the web process", command, body_md)


def _empty_outbox() -> None:
    from ingest.models import IngestOutbox

    IngestOutbox.objects.all().delete()


if __name__ == "__main__":
    main()
