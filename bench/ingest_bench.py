"""Ingest pipeline throughput on the real services: accepted records/s and worker drain rate.

Per run, on one server (the production server, ``deploy/serve``, on a free port of 127.0.0.1;
PostgreSQL, Redis, RabbitMQ with publisher confirms):
  1. reference: wrk -t2 -c50 on ``GET /api/health`` (same server, same run);
  2. accept: wrk -t2 -c50 ``POST /api/ingest`` with the issue's example record, no worker running:
     every 202 is a record committed to the outbox; they pile up there;
  3. drain: a worker (``deploy/worker``: rundramatiq, 2 processes x 4 threads, the ``make worker``
     command; its relay threads move the outbox to the queue) stores that backlog;
     rate = records / (last stored_at - first stored_at);
  4. steady state: accept again with the worker running beside the server (all on the same 2 cores).
Once per invocation, two more references: the raw confirmed-publish rate of one-record messages from
one thread (what one-message-per-request could reach per process) and the ORM's own insert rate
(``bulk_create`` 500 rows per transaction, ``ignore_conflicts``) on the same database.

    .venv/bin/python bench/ingest_bench.py [--quick] [--runs 3] [--duration 10] [--threads N]

Every wrk row also gives the requests answered per connection, the least and the most served of
wrk's 50 connections (kernel per-socket counters, _report.ConnectionCounter): all 50 are served.

Defaults: database maas_bench_ingest (created if missing), Redis db 5, RabbitMQ guest@127.0.0.1,
a queue of its own (ingest-bench-<pid>, deleted at the end). Servers and workers are started and
stopped by PID (process group).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _report import (  # noqa: E402
    ConnectionCounter,
    median,
    progress,
    serve_command,
    serve_description,
    stop_process,
    write_section,
)

from ingest.validation import EXAMPLE_RECORD  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = int(os.environ.get("BENCH_PORT", "0")) or _free_port()
CONNECTIONS = 50
BODY = json.dumps(EXAMPLE_RECORD)

LUA = r"""
local key = os.getenv("BENCH_KEY")
local body = os.getenv("BENCH_BODY")
function request()
  if body then
    return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Token"] = key}, body)
  end
  return wrk.format("GET")
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


# --- environment ----------------------------------------------------------------------------------
def _environment(args: argparse.Namespace) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/maas_bench_ingest"),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
        "BROKER_URL": os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
        "CACHE_KEY_PREFIX": "ingest-bench",
        "INGEST_QUEUE": f"ingest-bench-{os.getpid()}",
        "MAAS_VAR_DIR": os.environ.get("MAAS_VAR_DIR", "/tmp/maas-bench-ingest"),
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update(env)
    return env


def _create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            progress(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def _prepare() -> tuple[str, int]:
    """Migrate; a bench client with the ingest role and a fresh key. Returns (raw key, client id)."""
    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from accounts.models import Client
    from accounts.roles import INGEST
    from accounts.services import api_key_create, client_create

    progress("migrating")
    call_command("migrate", verbosity=0)
    Group.objects.get_or_create(name=INGEST)
    client = Client.objects.filter(name="ingest-bench").first() or client_create(name="ingest-bench", roles=[INGEST])
    _, raw_key = api_key_create(client=client, name="bench")
    return raw_key, client.pk


# --- processes --------------------------------------------------------------------------------------
class Group:
    """A child process in its own process group, stopped by PID."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def stop(self) -> None:
        stop_process(self.process, timeout=20)


def _start_server(env: dict[str, str], threads: int | None, log: Path) -> Group:
    command, extra = serve_command(port=PORT, **({"WEB_THREADS": threads} if threads else {}))
    server = Group(command, {**env, **extra}, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/health", timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise SystemExit(f"the server did not start; see {log}")


def _start_worker(env: dict[str, str], log: Path) -> Group:
    path = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return Group([str(ROOT / "deploy" / "worker")], {**env, "PATH": path}, log)


def _wrk(path: str, seconds: int, lua: Path, env: dict[str, str], body: str | None = None) -> dict[str, Any]:
    run_env = {**env, "BENCH_KEY": env.get("BENCH_KEY", "")}
    if body is not None:
        run_env["BENCH_BODY"] = body
    else:
        run_env.pop("BENCH_BODY", None)
    with ConnectionCounter(PORT) as counter:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(lua), f"http://127.0.0.1:{PORT}{path}"],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        ).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    data["per_connection"] = counter.summary()
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


# --- measurements in this process ----------------------------------------------------------------
def _outbox(client_id: int) -> int:
    from ingest.models import IngestOutbox

    return IngestOutbox.objects.filter(client_id=client_id).count()


def _settled_outbox(client_id: int) -> int:
    """The outbox count once the requests wrk stopped waiting for (up to one per connection) have
    committed: stable for half a second."""
    count = _outbox(client_id)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _outbox(client_id)
        if now == count:
            break
        count = now
    return count


def _delete_queues(queue_name: str) -> None:
    import dramatiq
    from dramatiq.common import dq_name, xq_name

    channel = dramatiq.get_broker().channel
    for name in (queue_name, dq_name(queue_name), xq_name(queue_name)):
        channel.queue_delete(queue=name)


def _raw_publish_rate(seconds: float) -> float:
    """Confirmed sends of one-record messages from one thread: the per-request publishing design."""
    import dramatiq
    from dramatiq import Message

    from ingest.tasks import STORE_ACTOR

    broker = dramatiq.get_broker()
    queue_name = f"ingest-bench-raw-{os.getpid()}"
    broker.declare_queue(queue_name)
    record = {"id": str(uuid.uuid4()), "client": 0, "ts": 1530228282, "sender": "s", "message": {"a": 1}}
    sent = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        broker.enqueue(Message(queue_name=queue_name, actor_name=STORE_ACTOR, args=([record],), kwargs={}, options={}))
        sent += 1
    rate = sent / (time.perf_counter() - started)
    _delete_queues(queue_name)
    return rate


def _orm_insert_rate(client_id: int, rows: int) -> float:
    """The ORM's own bulk insert rate here: 500 rows per transaction, ignore_conflicts."""
    from datetime import UTC, datetime

    from django.db import transaction

    from ingest.models import IngestRecord

    now = datetime.now(tz=UTC)
    objects = [
        IngestRecord(
            uuid=uuid.uuid4(),
            client_id=client_id,
            ts=now,
            sender="bench",
            message={"foo": "bar", "baz": "bang"},
            sent_from_ip="1.2.3.4",
            priority=2,
            received_at=now,
            stored_at=now,
        )
        for _ in range(rows)
    ]
    started = time.perf_counter()
    for start in range(0, rows, 500):
        with transaction.atomic():
            IngestRecord.objects.bulk_create(objects[start : start + 500], ignore_conflicts=True)
    rate = rows / (time.perf_counter() - started)
    IngestRecord.objects.filter(sender="bench").delete()
    return rate


def _stored(client_id: int) -> int:
    from ingest.models import IngestRecord

    return IngestRecord.objects.filter(client_id=client_id).count()


def _drain_rate(client_id: int) -> tuple[float, float]:
    """(records/s between the first and the last store, seconds) from the stored_at column."""
    from django.db.models import Max, Min

    from ingest.models import IngestRecord

    span = IngestRecord.objects.filter(client_id=client_id).aggregate(first=Min("stored_at"), last=Max("stored_at"))
    count = _stored(client_id)
    seconds = max((span["last"] - span["first"]).total_seconds(), 1e-3)
    return count / seconds, seconds


def _clear(client_id: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ingest_ingestrecord WHERE client_id = %s", [client_id])


# --- main -------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="One short run (3 s per measurement).")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="Seconds per wrk measurement.")
    parser.add_argument("--threads", type=int, default=None, help="WEB_THREADS (default: deploy/serve's)")
    parser.add_argument("--no-report", action="store_true", help="Print only; leave docs/benchmarks.md alone.")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.duration = 1, 3
    if not Path("/usr/bin/wrk").exists():
        raise SystemExit("wrk is needed: apt-get install wrk")

    env = _environment(args)
    _create_database(env["DATABASE_URL"])
    raw_key, client_id = _prepare()
    env["BENCH_KEY"] = raw_key
    queue_name = env["INGEST_QUEUE"]
    tmp = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    lua = tmp / "bench.lua"
    lua.write_text(LUA)

    progress("reference: raw confirmed publish rate (one record per message, one thread)")
    raw_publish = _raw_publish_rate(min(args.duration, 5))
    progress(f"  {raw_publish:.0f} msg/s")
    progress("reference: ORM bulk insert rate")
    orm_rate = median([_orm_insert_rate(client_id, 20_000 if not args.quick else 5_000) for _ in range(2)])
    progress(f"  {orm_rate:.0f} rows/s")

    results: list[dict[str, Any]] = []
    server = _start_server(env, args.threads, tmp / "serve.log")
    try:
        _wrk("/api/health", 2, lua, env)  # warm-up
        for run in range(1, args.runs + 1):
            _clear(client_id)
            health = _wrk("/api/health", args.duration, lua, env)
            progress(f"run {run}: health {health['rps']:.0f} req/s, per connection {_served(health)}")
            accept = _wrk("/api/ingest", args.duration, lua, env, body=BODY)
            accepted = _settled_outbox(client_id)  # every 202, including those wrk stopped waiting for
            progress(
                f"run {run}: accept {accept['rps']:.0f} req/s (non-2xx {accept['non2xx']}), "
                f"{accepted} records in the outbox, per connection {_served(accept)}"
            )
            worker = _start_worker(env, tmp / "worker.log")
            try:
                deadline = time.monotonic() + 120 + accepted / 500
                while _stored(client_id) < accepted and time.monotonic() < deadline:
                    time.sleep(0.25)
                stored = _stored(client_id)
                drain, drain_seconds = _drain_rate(client_id)
                progress(f"run {run}: drained {stored}/{accepted} at {drain:.0f} records/s ({drain_seconds:.1f} s)")
                steady = _wrk("/api/ingest", args.duration, lua, env, body=BODY)
                deadline = time.monotonic() + 120
                while _outbox(client_id) and time.monotonic() < deadline:
                    time.sleep(0.1)
                backlog_seconds = time.monotonic() - (deadline - 120)
                progress(
                    f"run {run}: with the worker running: {steady['rps']:.0f} req/s, "
                    f"backlog cleared {backlog_seconds:.1f} s after wrk stopped, per connection {_served(steady)}"
                )
            finally:
                worker.stop()
            results.append(
                {
                    "health": health,
                    "accept": accept,
                    "stored": stored,
                    "accepted": accepted,
                    "drain": drain,
                    "steady": steady,
                    "backlog_seconds": backlog_seconds,
                }
            )
    finally:
        server.stop()
        try:
            _delete_queues(queue_name)
        finally:
            _clear(client_id)

    _report(args, results, raw_publish, orm_rate)


def _served(result: dict[str, Any]) -> str:
    conns = result["per_connection"]
    return f"{conns['min']}-{conns['max']} over {conns['connections']} ({conns['unserved']} never answered)"


def _per_connection(results: list[dict[str, Any]], key: str) -> str:
    """Answers on the least and the most served connection, over all runs."""
    low = min(r[key]["per_connection"]["min"] for r in results)
    high = max(r[key]["per_connection"]["max"] for r in results)
    unserved = max(r[key]["per_connection"]["unserved"] for r in results)
    return f"{low:,} to {high:,}" + (f", **{unserved} never answered**" if unserved else "")


def _report(args: argparse.Namespace, results: list[dict[str, Any]], raw_publish: float, orm_rate: float) -> None:
    health = median([r["health"]["rps"] for r in results])
    accept = median([r["accept"]["rps"] for r in results])
    p50 = median([r["accept"]["p50_us"] / 1000 for r in results])
    p99 = median([r["accept"]["p99_us"] / 1000 for r in results])
    non2xx = sum(r["accept"]["non2xx"] + r["steady"]["non2xx"] for r in results)
    drain = median([r["drain"] for r in results])
    steady = median([r["steady"]["rps"] for r in results])
    backlog = median([r["backlog_seconds"] for r in results])
    lost = sum(max(0, r["accepted"] - r["stored"]) for r in results)
    table = "\n".join(
        [
            "| measurement | median | reference (same run) | ratio | target | requests per connection |",
            "|---|---|---|---|---|---|",
            f"| accepted `POST /api/ingest` (202 = committed to the outbox), no worker | {accept:,.0f} req/s "
            f"(p50 {p50:.1f} ms, p99 {p99:.1f} ms) | `GET /api/health` {health:,.0f} req/s | "
            f"{accept / health:.2f} | ≥ 2,000 req/s | {_per_connection(results, 'accept')} |",
            f"| same, vs one confirmed publish per request (design (a)) | {accept:,.0f} req/s | raw confirmed "
            f"send, 1 thread: {raw_publish:,.0f} msg/s | {accept / raw_publish:.2f} | | |",
            f"| worker drain: relay + store (2 processes x 4 threads) | {drain:,.0f} records/s | ORM "
            "`bulk_create` 500/tx: "
            f"{orm_rate:,.0f} rows/s | {drain / orm_rate:.2f} | ≥ 5,000 records/s | |",
            f"| accepted with the worker running on the same cores | {steady:,.0f} req/s | `GET /api/health` "
            f"{health:,.0f} req/s | {steady / health:.2f} | | {_per_connection(results, 'steady')} |",
            f"| reference: `GET /api/health` | {health:,.0f} req/s | | | | {_per_connection(results, 'health')} |",
        ]
    )
    body = (
        f"{table}\n\n"
        f"- {args.runs} run(s) of {args.duration} s per measurement, wrk -t2 -c{CONNECTIONS}; {serve_description()}"
        + (f" with `WEB_THREADS={args.threads}`" if args.threads else "")
        + "; PostgreSQL, Redis (auth cache, throttle) and RabbitMQ "
        "(publisher confirms, durable queue, persistent messages) on the same 2 cores.\n"
        "- Requests per connection: answers on the least and the most served of wrk's "
        f"{CONNECTIONS} connections over all runs (kernel per-socket counters sampled every 0.5 s).\n"
        "- The relay packs up to 500 records per queue message.\n"
        f"- Outbox left when wrk stopped with the worker running: empty {backlog:.1f} s later (median).\n"
        f"- Non-2xx responses: {non2xx}; accepted but not stored at the end: {lost}.\n"
    )
    print(body)
    if not args.no_report:
        command = "python bench/ingest_bench.py" + (" --quick" if args.quick else f" --runs {args.runs}")
        write_section("ingest", "Ingest: accepted records/s and worker drain rate", command, body)


if __name__ == "__main__":
    main()
