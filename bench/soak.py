"""Soak: N minutes of mixed traffic at a steady rate against the production processes, watching
for memory growth, connection leaks and errors.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 100] [--warmup 2] [--tracemalloc] [--no-report]

Starts ``deploy/serve`` (2 server processes) and ``deploy/worker`` (2 processes) on PostgreSQL
(database ``maas_soak``, created and migrated), Redis (db 7) and RabbitMQ (a queue of its own),
on ports 9870-9879, and sends, open loop (on a schedule, whatever the answers take), a mix of paid
JSON memes (60 %, 1,000 clients in turn, varied queries), PNG memes (15 %, mostly cache hits) and
ingest records (25 %). Every 10 s it samples the RSS of every process of both (from /proc) and the
database's connections (``pg_stat_activity``). Reports, after the warm-up: RSS growth per process
(MB, and MB/hour by least squares), the highest connection count, errors by kind, latency
percentiles, and whether the outbox drained at the end.

``--tracemalloc`` runs both with ``MAAS_TRACEMALLOC=1`` (config/memdebug.py): SIGUSR2 at the end
of the warm-up takes each process's baseline, SIGUSR2 at the end writes its 25 most-grown
allocation sites to ``var/soak/tracemalloc-<pid>-2.txt``; the report quotes the top ones. (It
costs CPU: the figures of such a run are for finding the leak, not for the capacity model.)
Stops everything it started, by PID, whatever fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _report import median, percentile, progress, stop_process, write_section  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/maas_soak"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672/%2F"
WEB_PORT, WORKER_METRICS_PORT = 9870, 9871
SAMPLE_SECONDS = 10.0
QUERIES = ["cat", "dog", "pizza", "monday", "coffee", "paranoid", "boss", "code", "cat office", "weekend",
           "sleep", "money", "friday", "bug", "deploy", "meeting", "tea", "fail", "success", "love"]  # fmt: skip
RECORD = {"ts": "1530228282", "sender": "soak-service", "message": {"foo": "bar"}, "sent-from-ip": "1.2.3.4"}


# --- processes --------------------------------------------------------------------------------
def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree[ppid].append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def process_name(pid: int) -> str:
    with contextlib.suppress(OSError):
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        text = " ".join(w.decode(errors="replace") for w in words if w)
        for marker, name in (("granian", "granian"), ("deploy/serve", "serve"), ("rundramatiq", "rundramatiq"),
                             ("dramatiq", "dramatiq"), ("exposition", "dramatiq-metrics")):  # fmt: skip
            if marker in text:
                return name
        return text[:40]
    return "?"


# --- traffic ----------------------------------------------------------------------------------
@dataclass
class Traffic:
    base: str
    keys: list[str]
    ingest_key: str
    meme_ids: list[int]
    rate: float
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    late: int = 0

    def _one(self, session: Any, n: int) -> None:
        rnd = random.Random(n)
        roll = rnd.random()
        key = self.keys[n % len(self.keys)]
        kind = "paid json" if roll < 0.60 else "paid png" if roll < 0.75 else "ingest"
        started = time.monotonic()
        try:
            if kind == "paid json":
                query = rnd.choice(QUERIES)
                response = session.get(f"{self.base}/api/memes", params={"query": query}, headers={"X-Token": key},
                                       timeout=10)  # fmt: skip
                ok = response.status_code in (200, 404)  # 404: no match, a correct answer (not charged)
            elif kind == "paid png":
                meme = rnd.choice(self.meme_ids)
                response = session.get(f"{self.base}/api/memes/{meme}.png", headers={"X-Token": key}, timeout=10)
                ok = response.status_code == 200
            else:
                response = session.post(f"{self.base}/api/ingest", json={**RECORD, "message": {"n": n}},
                                        headers={"X-Token": self.ingest_key}, timeout=10)  # fmt: skip
                ok = response.status_code == 202
            status = str(response.status_code)
        except Exception as exc:  # a soak counts every failure, of any kind
            ok, status = False, type(exc).__name__
        elapsed = time.monotonic() - started
        with self.lock:
            self.sent[kind] += 1
            self.latencies[kind].append(elapsed)
            if not ok:
                self.errors[f"{kind} {status}"] += 1

    def run(self, threads: int = 24) -> list[threading.Thread]:
        import requests

        counter = iter(range(10**12))
        counter_lock = threading.Lock()
        start = time.monotonic()
        interval = 1.0 / self.rate

        def loop() -> None:
            session = requests.Session()
            while not self.stop.is_set():
                with counter_lock:
                    n = next(counter)
                due = start + n * interval
                delay = due - time.monotonic()
                if delay > 0:
                    if self.stop.wait(delay):
                        return
                elif delay < -1.0:
                    with self.lock:
                        self.late += 1  # the schedule slipped by more than a second: the server is behind
                self._one(session, n)

        workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
        for worker in workers:
            worker.start()
        return workers


# --- setup ------------------------------------------------------------------------------------
def prepare() -> tuple[list[str], str, list[int]]:
    from billing_bench import _prepare as clients_prepare
    from django.contrib.auth.models import Group

    from accounts.models import Client
    from accounts.roles import INGEST
    from accounts.services import api_key_create, client_create
    from memes.models import Meme

    keys, _, _ = clients_prepare("memes", hot_tokens=1, spread_tokens=10_000_000)
    Group.objects.get_or_create(name=INGEST)
    sender = Client.objects.filter(name="soak-ingest").first() or client_create(name="soak-ingest", roles=[INGEST])
    meme_ids = list(Meme.objects.filter(kind__in=["text", "image"], is_safe=True).values_list("pk", flat=True)[:20])
    return keys, api_key_create(client=sender, name="soak")[1], meme_ids


def db_connections() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        row = cursor.fetchone()
    connection.close()  # our own sampling connection is not counted next time
    return int(row[0]) - 1 if row else 0


def outbox_count() -> int:
    from ingest.models import IngestOutbox

    return IngestOutbox.objects.count()


def slope_mb_per_hour(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var * 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=100, help="requests per second, all kinds together")
    parser.add_argument("--warmup", type=float, default=2, help="minutes before the RSS baseline")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()

    database_url = os.environ.get("SOAK_DATABASE_URL", DEFAULT_DB)
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = os.environ.get("SOAK_REDIS_URL", DEFAULT_REDIS)
    os.environ.setdefault("CACHE_KEY_PREFIX", "soak")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from billing_bench import _create_database

    _create_database(database_url)
    import django

    django.setup()
    keys, ingest_key, meme_ids = prepare()
    var = ROOT / "var" / "soak"
    var.mkdir(parents=True, exist_ok=True)
    for old in var.glob("tracemalloc-*.txt"):
        old.unlink()
    queue = f"ingest-soak-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "BROKER_URL": os.environ.get("SOAK_BROKER_URL", DEFAULT_BROKER),
        "INGEST_QUEUE": queue,
        "HOST": "127.0.0.1",
        "PORT": str(WEB_PORT),
        "WEB_DRAIN_SECONDS": "0",
        "WORKER_METRICS_PORT": str(WORKER_METRICS_PORT),
        "WORKER_METRICS_HOST": "127.0.0.1",
        "MAAS_TRACEMALLOC": "1" if args.tracemalloc else "0",
        "MAAS_TRACEMALLOC_DIR": str(var),
    }
    logs = {name: (var / f"{name}.log").open("wb") for name in ("serve", "worker")}
    serve = subprocess.Popen([sys.executable, str(ROOT / "deploy/serve")], cwd=ROOT, env=env, stdout=logs["serve"],
                             stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    worker = subprocess.Popen([str(ROOT / "deploy/worker")], cwd=ROOT, env=env, stdout=logs["worker"],
                              stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    traffic: Traffic | None = None
    samples: list[dict[str, Any]] = []
    try:
        import requests

        deadline = time.monotonic() + 600  # tracemalloc slows the imports of a start several times (minutes)
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"http://127.0.0.1:{WEB_PORT}/api/ready", timeout=2).ok:
                    break
            time.sleep(0.5)
        else:
            raise SystemExit("deploy/serve did not get ready in 600 s; see var/soak/serve.log")
        time.sleep(3)  # the worker's processes boot
        traffic = Traffic(f"http://127.0.0.1:{WEB_PORT}", keys, ingest_key, meme_ids, args.rate)
        traffic.run()
        started = time.monotonic()
        end = started + args.minutes * 60
        warm = started + args.warmup * 60
        baseline_sent = False
        progress(f"soak: {args.minutes} min at {args.rate} req/s, warm-up {args.warmup} min")
        while time.monotonic() < end:
            now = time.monotonic()
            sample: dict[str, Any] = {"t": now - started, "db": db_connections(), "rss": {}}
            for root_name, root in (("web", serve.pid), ("worker", worker.pid)):
                for pid in descendants(root):
                    value = rss_mb(pid)
                    if value is not None:
                        sample["rss"][(root_name, pid, process_name(pid))] = value
            samples.append(sample)
            if args.tracemalloc and not baseline_sent and now >= warm:
                for key in sample["rss"]:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(key[1], signal.SIGUSR2)
                baseline_sent = True
            with traffic.lock:
                total, errors = sum(traffic.sent.values()), sum(traffic.errors.values())
            rss_total = sum(sample["rss"].values())
            progress(f"t={sample['t']:.0f}s sent={total} errors={errors} rss_total={rss_total:.0f}MB db={sample['db']}")
            time.sleep(max(0.0, min(SAMPLE_SECONDS, end - time.monotonic())))
        traffic.stop.set()
        elapsed = time.monotonic() - started
        if args.tracemalloc:
            for key in samples[-1]["rss"]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(key[1], signal.SIGUSR2)
            time.sleep(5)
        drain_deadline = time.monotonic() + 60
        while outbox_count() and time.monotonic() < drain_deadline:
            time.sleep(1)
        left_in_outbox = outbox_count()
    finally:
        if traffic is not None:
            traffic.stop.set()
        for process in (serve, worker):
            stop_process(process, timeout=40)  # SIGTERM to it, then SIGKILL to its process group
        for log in logs.values():
            log.close()
    assert traffic is not None
    report(args, traffic, samples, elapsed, left_in_outbox, var)


def report(args: Any, traffic: Traffic, samples: list[dict[str, Any]], elapsed: float, left: int, var: Path) -> None:
    after_warmup = [s for s in samples if s["t"] >= args.warmup * 60] or samples[-1:]
    first, last = after_warmup[0], after_warmup[-1]
    rows = []
    for key in sorted(last["rss"]):
        if key not in first["rss"]:
            continue
        points = [(s["t"], s["rss"][key]) for s in after_warmup if key in s["rss"]]
        rows.append(
            f"| {key[0]} | {key[2]} (pid {key[1]}) | {first['rss'][key]:.1f} | {last['rss'][key]:.1f} | "
            f"{last['rss'][key] - first['rss'][key]:+.1f} | {slope_mb_per_hour(points):+.1f} |"
        )
    sent = sum(traffic.sent.values())
    errors = sum(traffic.errors.values())
    latency_rows = "\n".join(
        f"| {kind} | {traffic.sent[kind]} | {median(values) * 1000:.1f} | {percentile(values, 99) * 1000:.1f} |"
        for kind, values in sorted(traffic.latencies.items())
    )
    error_text = ", ".join(f"{k}: {v}" for k, v in traffic.errors.most_common()) or "none"
    tracemalloc_text = ""
    if args.tracemalloc:
        tops = []
        for path in sorted(var.glob("tracemalloc-*-2.txt")):
            lines = path.read_text().splitlines()
            tops.append(f"- `{path.name}`: {lines[0]}; top: `{lines[1] if len(lines) > 1 else '-'}` at "
                        f"`{lines[-1].strip() if len(lines) > 2 else '-'}`")  # fmt: skip
        tracemalloc_text = "\n\ntracemalloc (baseline after the warm-up, compared at the end):\n\n" + (
            "\n".join(tops) or "- no snapshot was written (a process that never ran Python code on its main thread)"
        )
    body = f"""
`deploy/serve` (2 processes) and `deploy/worker` (2 processes) on PostgreSQL, Redis and RabbitMQ on this
machine; {args.minutes:g} minutes of open-loop traffic at {args.rate:g} req/s (60 % paid JSON memes over
1,000 clients, 15 % PNG memes, 25 % ingest records); RSS and database connections sampled every
{SAMPLE_SECONDS:.0f} s. Growth is from the end of the {args.warmup:g}-minute warm-up to the end; the
slope is a least-squares fit over the same samples.

- Requests: {sent} in {elapsed:.0f} s ({sent / elapsed:.1f}/s); errors: {errors} ({error_text}); sent more
  than 1 s behind schedule: {traffic.late}.
- Database connections: max {max(s["db"] for s in samples)}, at the end {samples[-1]["db"]}
  (median {median([float(s["db"]) for s in samples]):.0f}).
- Outbox after the run: {left} records left (60 s allowed to drain).

| group | process | RSS after warm-up (MB) | RSS at the end (MB) | growth (MB) | slope (MB/hour) |
|---|---|---:|---:|---:|---:|
{chr(10).join(rows)}

| kind | requests | p50 ms | p99 ms |
|---|---:|---:|---:|
{latency_rows}{tracemalloc_text}
"""
    command = f"python bench/soak.py --minutes {args.minutes:g} --rate {args.rate:g} --warmup {args.warmup:g}"
    command += " --tracemalloc" if args.tracemalloc else ""
    if args.no_report:
        print(body)
    else:
        write_section("soak", "Soak: memory, connections and errors under steady mixed traffic", command, body)


if __name__ == "__main__":
    main()
