"""Serving configurations side by side: throughput, and whether idle or slow clients stall the server.

For each configuration, on the same PostgreSQL + Redis, in the same run:
  1. hello-world ``GET /api/health`` and the paid ``GET /api/memes`` (1,000 clients in turn):
     ``wrk -t2 -c50``, req/s, p99, and requests per connection (min and max over wrk's 50
     connections, from the kernel's per-socket counters: a configuration that serves only some of
     its connections shows connections with none);
  2. N idle connections (opened, nothing sent: a load balancer's pool, a browser's preconnects, the
     issue's 20 sockets): a new client's ``GET /api/health`` (timeout 3 s), then ``wrk -c50`` beside them;
  3. slowloris: 50 connections sending a request's headers one byte a second, new clients meanwhile;
  4. unread responses: 50 connections asking for the largest static file (3.9 MB) with a 4 KB
     receive buffer and never reading, new clients meanwhile.

    .venv/bin/python bench/serving_bench.py [--quick] [--runs 3] [--seconds 5] [--idle 1000]
        [--configs serve,granian-bp8,serve-threads-2,serve-threads-8,gunicorn-gthread,nginx-serve]

Needs PostgreSQL and Redis on 127.0.0.1 (DATABASE_URL / REDIS_URL; defaults: database
maas_bench_billing, Redis db 4), wrk and ss; nginx for ``nginx-serve``. Servers listen on ports the
kernel picks and are stopped by PID. Writes the "serving" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

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
    wait_until_serving,
    write_section,
)
from billing_bench import DEFAULT_DB, LUA, SPREAD_CLIENTS, _prepare, _setup_django, _wrk  # noqa: E402

BIN = Path(sys.executable).parent
PROBE_TIMEOUT = 3.0
STALL_CLIENTS = 50
BIG_STATIC = "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js.map"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- configurations ---------------------------------------------------------------------------
@dataclass
class Config:
    name: str
    label: str
    start: Callable[[int, dict[str, str], Path], list[subprocess.Popen]]


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as sink:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )


def _serve(**knobs: int | str) -> Callable[[int, dict[str, str], Path], list[subprocess.Popen]]:
    def start(port: int, env: dict[str, str], work: Path) -> list[subprocess.Popen]:
        command, extra = serve_command(port=port, **knobs)
        return [_spawn(command, {**env, **extra}, work / f"serve-{port}.log")]

    return start


def _granian_backpressure_8(port: int, env: dict[str, str], work: Path) -> list[subprocess.Popen]:
    command = [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "2", "--backpressure", "8", "--no-access-log", "config.wsgi:application",
    ]  # fmt: skip
    return [_spawn(command, env, work / "granian-bp8.log")]


def _gunicorn_gthread(port: int, env: dict[str, str], work: Path) -> list[subprocess.Popen]:
    command = [
        str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread",
        "--threads", "4", "--keep-alive", "5", "config.wsgi:application",
    ]  # fmt: skip
    return [_spawn(command, env, work / "gunicorn.log")]


NGINX_CONF = """
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {work}/nginx-body;
    proxy_temp_path {work}/nginx-proxy;
    fastcgi_temp_path {work}/nginx-fastcgi;
    uwsgi_temp_path {work}/nginx-uwsgi;
    scgi_temp_path {work}/nginx-scgi;
    client_header_timeout 10s;
    keepalive_timeout 30s;
    send_timeout 10s;
    upstream app {{ server 127.0.0.1:{app_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""


def _nginx_serve(port: int, env: dict[str, str], work: Path) -> list[subprocess.Popen]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    app_port = free_port()
    app = _serve()(app_port, env, work)
    wait_until_serving(app[0], app_port, what=f"server on port {app_port}", seconds=90)
    # nginx's workers run as an unprivileged user when started as root: their temp files (large
    # responses are buffered to disk) need a directory they can enter.
    work = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    work.chmod(0o755)
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(work=work, port=port, app_port=app_port))
    proxy = _spawn([nginx, "-c", str(conf), "-p", str(work), "-g", "daemon off;"], env, work / "nginx.log")
    return [proxy, *app]


CONFIGS = {
    config.name: config
    for config in (
        Config("serve", "`deploy/serve` defaults (4 threads per process)", _serve()),
        Config("granian-bp8", "granian `--workers 2 --backpressure 8` (the old command)", _granian_backpressure_8),
        Config("serve-threads-2", "`deploy/serve`, `WEB_THREADS=2`", _serve(WEB_THREADS=2)),
        Config("serve-threads-8", "`deploy/serve`, `WEB_THREADS=8`", _serve(WEB_THREADS=8)),
        Config("serve-threads-16", "`deploy/serve`, `WEB_THREADS=16`", _serve(WEB_THREADS=16)),
        Config("gunicorn-gthread", "gunicorn gthread, 2 processes x 4 threads, keep-alive 5 s", _gunicorn_gthread),
        Config("nginx-serve", "nginx (1 worker, upstream keep-alive) in front of `deploy/serve`", _nginx_serve),
    )
}  # fmt: skip


@contextlib.contextmanager
def _running(config: Config, env: dict[str, str], work: Path) -> Iterator[int]:
    port = free_port()
    processes = config.start(port, env, work)
    try:
        wait_until_serving(processes[0], port, what=f"server on port {port}", seconds=90)
        progress(f"{config.name}: ready on port {port} (pids {[p.pid for p in processes]})")
        yield port
    finally:
        for process in processes:
            stop_process(process)
        progress(f"{config.name}: stopped")


# --- stalling clients -------------------------------------------------------------------------
def _probe(port: int) -> float | None:
    """Seconds a new client waits for ``GET /api/health``, None if it got no answer in time."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=PROBE_TIMEOUT) as response:
            response.read()
            return time.monotonic() - started if response.status == 200 else None
    except (OSError, urllib.error.URLError):
        return None


def _probes(port: int, count: int, interval: float) -> dict[str, float | int]:
    waits = []
    for _ in range(count):
        waits.append(_probe(port))
        time.sleep(interval)
    answered = [w for w in waits if w is not None]
    return {
        "answered": len(answered),
        "probes": count,
        "max_ms": max(answered) * 1000 if answered else float("nan"),
    }


def _open_idle(port: int, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sockets.append(sock)
    return sockets


@contextlib.contextmanager
def _slowloris(port: int, count: int) -> Iterator[None]:
    """``count`` connections each sending one more byte of a request's headers every second."""
    head = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 200
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    stop = threading.Event()

    def drip() -> None:
        position = 0
        while not stop.is_set() and position < len(head):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.send(head[position : position + 1])
            position += 1
            stop.wait(1.0)

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def _unread(port: int, count: int) -> Iterator[None]:
    """``count`` connections asking for a large response and never reading it."""
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET {BIG_STATIC} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n".encode())
        sockets.append(sock)
    try:
        yield
    finally:
        for sock in sockets:
            sock.close()


# --- measurement ------------------------------------------------------------------------------
def _load(port: int, lua: Path, paths: list[str], keys: str, seconds: int, exclude: frozenset[int] = frozenset()):
    with ConnectionCounter(port, exclude=exclude) as counter:
        result = _wrk(port, lua, paths, keys, seconds)
    result["per_connection"] = counter.summary()
    return result


def _throughput(name: str, port: int, run: int, args, lua: Path, paths: list[str], keys: str, out: dict) -> None:
    for scenario, scenario_paths, scenario_keys in (("hello", ["/api/health"], ""), ("paid", paths, keys)):
        result = _load(port, lua, scenario_paths, scenario_keys, args.seconds)
        out.setdefault(scenario, []).append(result)
        conns = result["per_connection"]
        progress(
            f"{name} run {run + 1} {scenario}: {result['rps']:.0f} req/s "
            f"p99 {result['p99_us'] / 1000:.1f} ms, errors {result['socket_errors']}, "
            f"per connection {conns['min']}-{conns['max']} over {conns['connections']} "
            f"({conns['unserved']} never answered)"
        )


def _stalls(name: str, port: int, args, lua: Path, out: dict) -> None:
    idle = _open_idle(port, args.idle)
    try:
        time.sleep(0.5)
        out["idle_probe"] = _probes(port, 3, 0.2)
        exclude = frozenset(sock.getsockname()[1] for sock in idle)
        out["idle_load"] = _load(port, lua, ["/api/health"], "", args.seconds, exclude)
    finally:
        for sock in idle:
            sock.close()
    idle_load = out["idle_load"]
    progress(
        f"{name} {args.idle} idle: probe {out['idle_probe']}, load p99 "
        f"{idle_load['p99_us'] / 1000:.1f} ms, {idle_load['per_connection']}"
    )
    time.sleep(1)
    with _slowloris(port, STALL_CLIENTS):
        time.sleep(2)
        out["slowloris"] = _probes(port, max(4, args.seconds), 0.5)
    progress(f"{name} slowloris: {out['slowloris']}")
    time.sleep(1)
    with _unread(port, STALL_CLIENTS):
        time.sleep(1)
        out["unread"] = _probes(port, max(4, args.seconds), 0.5)
    progress(f"{name} unread responses: {out['unread']}")
    time.sleep(1)


def _measure_all(names: list[str], args, env: dict[str, str], work: Path, lua: Path, paths: list[str]) -> dict:
    """Every configuration runs at once (idle ones cost no CPU); the throughput runs go round-robin,
    starting one configuration later each round, so that a noisy minute on the shared machine lands
    on all of them rather than on one. Then the stall phases, one configuration at a time."""
    keys = str(work / "spread.txt")
    results: dict[str, dict] = {name: {} for name in names}
    with contextlib.ExitStack() as stack:
        ports = {name: stack.enter_context(_running(CONFIGS[name], env, work)) for name in names}
        for name in names:
            _wrk(ports[name], lua, paths, keys, 2)  # warm every process: imports, connections, the key cache
        for run in range(args.runs):
            shift = run % len(names)
            for name in names[shift:] + names[:shift]:
                _throughput(name, ports[name], run, args, lua, paths, keys, results[name])
        for name in names:
            _stalls(name, ports[name], args, lua, results[name])
    return results


def _probe_cell(probe: dict) -> str:
    if probe["answered"] == 0:
        return f"**none answered** (0/{probe['probes']} in {PROBE_TIMEOUT:.0f} s)"
    if probe["answered"] < probe["probes"]:
        return f"**{probe['answered']}/{probe['probes']} answered**, max {probe['max_ms']:.0f} ms"
    return f"{probe['probes']}/{probe['probes']}, max {probe['max_ms']:.0f} ms"


def _per_connection(results: list[dict]) -> str:
    low = min(r["per_connection"]["min"] for r in results)
    high = max(r["per_connection"]["max"] for r in results)
    unserved = max(r["per_connection"]["unserved"] for r in results)
    seen = max(r["per_connection"]["connections"] for r in results)
    cell = f"{low:,} to {high:,}"
    return cell + (f" (**{unserved} of {seen} never answered**)" if unserved else "")


def _report(args, results: dict[str, dict]) -> None:
    rows, stalls = [], []
    for name, out in results.items():
        label = CONFIGS[name].label
        hello = median([r["rps"] for r in out["hello"]])
        paid = median([r["rps"] for r in out["paid"]])
        rows.append(
            f"| {label} | {hello:,.0f} | {median([r['p99_us'] for r in out['hello']]) / 1000:.1f} | "
            f"{_per_connection(out['hello'])} | {paid:,.0f} | {paid / hello:.2f} | "
            f"{median([r['p99_us'] for r in out['paid']]) / 1000:.1f} | {_per_connection(out['paid'])} |"
        )
        idle_load = out["idle_load"]
        idle_cell = (
            f"{idle_load['rps']:,.0f} req/s, p99 {idle_load['p99_us'] / 1000:.1f} ms, "
            f"{idle_load['socket_errors']} errors, {_per_connection([idle_load])}"
        )
        stalls.append(
            f"| {label} | {_probe_cell(out['idle_probe'])} | {idle_cell} | {_probe_cell(out['slowloris'])} | "
            f"{_probe_cell(out['unread'])} |"
        )
    body = (
        f"`wrk -t2 -c50 -d{args.seconds}s` on 127.0.0.1, median of {args.runs} run(s); the paid call is "
        f"`GET /api/memes` over {SPREAD_CLIENTS:,} clients on PostgreSQL + Redis. Requests per connection: "
        "answers on the least and the most served of wrk's 50 connections (kernel per-socket counters, "
        "sampled every 0.5 s). All configurations run at once, measured round-robin. "
        "Production default: " + serve_description() + ".\n\n"
        "| configuration | hello req/s | hello p99 ms | hello requests per connection | paid req/s | "
        "paid / hello | paid p99 ms | paid requests per connection |\n"
        "|---|---:|---:|---|---:|---:|---:|---|\n" + "\n".join(rows) + "\n\n"
        f"Stalls: new clients' `GET /api/health` (each on a new connection, timeout {PROBE_TIMEOUT:.0f} s) while "
        f"{args.idle:,} idle connections are open, then `wrk -c50` beside them; while {STALL_CLIENTS} clients "
        f"send headers one byte a second; while {STALL_CLIENTS} clients leave a 3.9 MB response unread.\n\n"
        f"| configuration | {args.idle:,} idle: new client | {args.idle:,} idle + wrk -c50 | "
        f"slowloris x{STALL_CLIENTS}: new clients | unread x{STALL_CLIENTS}: new clients |\n"
        "|---|---|---|---|---|\n" + "\n".join(stalls) + "\n"
    )
    command = "python bench/serving_bench.py" + (" --quick" if args.quick else f" --runs {args.runs}")
    if args.no_report:
        print(body)
    else:
        write_section("serving", "Serving configurations: throughput and stalls", command, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one 3 s run per measurement, 200 idle connections")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--idle", type=int, default=1000, help="idle connections opened in the stall phase")
    parser.add_argument("--configs", default=",".join(name for name in CONFIGS if name != "serve-threads-16"))
    parser.add_argument("--queries", default="cat,dog,monday,coffee")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds, args.idle = 1, 3, 200
    for tool in ("wrk", "ss"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (apt-get install wrk iproute2)")
    unknown = [c for c in args.configs.split(",") if c not in CONFIGS]
    if unknown:
        sys.exit(f"unknown configuration(s) {unknown}; known: {', '.join(CONFIGS)}")

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/4")
    if not database_url.startswith("postgres"):
        sys.exit("This benchmark measures PostgreSQL: set DATABASE_URL=postgres://...")
    _setup_django(database_url, redis_url)
    per_config = 4000 * args.seconds * (args.runs + 1)
    spread_keys, _, _ = _prepare("memes", hot_tokens=1000, spread_tokens=max(100, per_config // 200))
    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    lua = work / "bench.lua"
    lua.write_text(LUA)
    (work / "spread.txt").write_text("\n".join(spread_keys) + "\n")
    env = {
        **os.environ,
        "THROTTLE_CLIENT": "100000000/min",  # measure serving, not the limiter's refusals
        "DB_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "0",
    }
    paths = [f"/api/memes?query={q}" for q in args.queries.split(",")]
    results = _measure_all(args.configs.split(","), args, env, work, lua, paths)
    _report(args, results)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
