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

Needs PostgreSQL and Redis on 127.0.0.1 (defaults: the billing benchmark's database
maas_bench_billing and its clients, created if missing; Redis db 6). Starts no process: nothing
listens, nothing to stop.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
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

    # What webhooks.services sets for a client with a balance.below_threshold webhook.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000, help="requests per scenario and run")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

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
    scenarios = {
        "hello-world DRF view `GET /api/health` (reference)": _caller(
            application, lambda i: _environ("GET", "/api/health"), 200
        ),
        "paid `GET /api/memes?query=cat` (200 clients in turn)": _caller(
            application, lambda i: _environ("GET", "/api/memes", "query=cat", keys[i % len(keys)]), 200
        ),
        "paid `GET /api/memes?query=cat`, 200 other clients with a webhook threshold": _caller(
            application, lambda i: _environ("GET", "/api/memes", "query=cat", watched_keys[i % len(watched_keys)]), 200
        ),
        "`POST /api/ingest` (the issue's example record)": _caller(
            application, lambda i: _environ("POST", "/api/ingest", key=ingest_key, body=body), 202
        ),
    }
    results: dict[str, list[float]] = {name: [] for name in scenarios}
    ratios: dict[str, list[float]] = {name: [] for name in scenarios}
    for run in range(1, args.runs + 1):
        order = list(scenarios)
        if run % 2 == 0:  # the two paid scenarios take turns going first: neither always gets the warmer machine
            order[1], order[2] = order[2], order[1]
        measured = {name: _cpu_per_request(scenarios[name], args.requests) for name in order}
        figures = {name: measured[name] for name in scenarios}
        reference = next(iter(figures.values()))
        for name, ms in figures.items():
            results[name].append(ms)
            ratios[name].append(ms / reference)
        progress(f"run {run}/{args.runs}: " + ", ".join(f"{ms:.3f}" for ms in figures.values()) + " ms/request")
    _empty_outbox()

    rows = "\n".join(
        f"| {name} | {median(results[name]):.3f} | {min(results[name]):.3f} to {max(results[name]):.3f} | "
        f"{median(ratios[name]):.1f}x |"
        for name in scenarios
    )
    body_md = f"""
One web process calling the WSGI application directly (no server, no load generator), one thread,
PostgreSQL + Redis on 127.0.0.1; its own CPU time (user + system) per request, {args.requests} requests
per scenario, median of {args.runs} runs (the two paid scenarios alternate which runs first). The ratio
is to the hello-world view in the same run.

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
