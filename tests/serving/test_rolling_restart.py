"""A rolling restart behind a real load balancer loses nothing: two ``deploy/serve`` instances
behind Debian's HAProxy (health-checking ``/api/ready``), steady paid calls and ingest posts
through it, a real worker (``deploy/worker``) storing the records; each instance in turn gets
SIGTERM and is replaced, then the worker. Every request is answered with success, the load
balancer never has to retry, every charge matches a served meme (``check_ledger`` clean) and
every accepted record is stored exactly once.

Prints the timings the Kubernetes settings are derived from (docs/serving.md): how long readiness
takes to turn red, when the load balancer stops sending, how long the drain and the exit take.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.core.management import call_command

from billing.models import TokenAccount
from ingest.models import IngestFailedRecord, IngestOutbox, IngestRecord
from tests.billing.helpers import assert_ledger_consistent
from tests.billing.servers import ROOT, Server, database_url, free_port, start_server
from tests.ingest.conftest import _delete_queue
from tests.serving.conftest import require_tool

pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.django_db(transaction=True)]

DRAIN = 5  # WEB_DRAIN_SECONDS, the production default
TOKENS = 1_000_000
PAID_THREADS = 3
INGEST_THREADS = 2

HAPROXY_CONFIG = """
global
    maxconn 4096
    stats socket {stats} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check 2s
    option redispatch
frontend api
    bind 127.0.0.1:{port}
    default_backend app
backend app
    balance roundrobin
    option httpchk
    # A Host header Django accepts (DJANGO_ALLOWED_HOSTS); HAProxy's default check has none.
    http-check send meth GET uri /api/ready ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
    http-response set-header X-Served-By %[srv_name]
    server a 127.0.0.1:{a} check
    server b 127.0.0.1:{b} check
"""


class LoadBalancer:
    def __init__(self, tmp: Path, backends: dict[str, int]) -> None:
        binary = require_tool("haproxy", "haproxy")
        self.port = free_port()
        self.stats = tmp / "haproxy.sock"
        config = tmp / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(stats=self.stats, port=self.port, **backends))
        self.log = (tmp / "haproxy.log").open("wb")
        self.process = subprocess.Popen([binary, "-f", str(config), "-db"], stdout=self.log, stderr=subprocess.STDOUT)

    def stat(self) -> dict[str, dict[str, str]]:
        """HAProxy's counters per server of the backend (``show stat``)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.stats))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        rows = csv.DictReader(io.StringIO(data.decode().lstrip("# ")))
        return {row["svname"]: row for row in rows if row["pxname"] == "app" and row["svname"] in ("a", "b")}

    def wait_status(self, server: str, status: str, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.stats.exists():
                with _suppress_os_errors():
                    if self.stat()[server]["status"].startswith(status):
                        return time.monotonic()
            time.sleep(0.05)
        raise AssertionError(f"HAProxy did not see server {server} {status} within {timeout}s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


class _suppress_os_errors:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, *_: object) -> bool:
        return kind is not None and issubclass(kind, (OSError, KeyError))


class Worker:
    """``deploy/worker`` (Dramatiq, relaying the outbox) on the test database and its own queue."""

    def __init__(self, tmp: Path, queue: str) -> None:
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "DATABASE_URL": database_url(),
            "INGEST_QUEUE": queue,
            "WORKER_PROCESSES": "1",
            "WORKER_THREADS": "2",
        }
        self.log_path = tmp / "worker.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(ROOT / "deploy" / "worker")], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def terminate(self, timeout: float = 40) -> tuple[int, float]:
        """SIGTERM to the worker (as Kubernetes sends it); (exit code, seconds it took)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@dataclass
class Traffic:
    """Steady load through the load balancer, from threads with a kept-alive session each."""

    url: str
    paid_keys: list[str]
    ingest_key: str
    stop: threading.Event = field(default_factory=threading.Event)
    served: list[tuple[float, str, str, int]] = field(default_factory=list)  # (time, kind, server, status)
    failures: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for key in self.paid_keys:
            self.threads.append(threading.Thread(target=self._run, args=("paid", key), daemon=True))
        for _ in range(INGEST_THREADS):
            self.threads.append(threading.Thread(target=self._run, args=("ingest", self.ingest_key), daemon=True))
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def _run(self, kind: str, key: str) -> None:
        session = requests.Session()
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                if kind == "paid":
                    response = session.get(f"{self.url}/api/memes?query=cat", headers={"X-Token": key}, timeout=10)
                    ok = response.status_code == 200
                else:
                    record = {"ts": "1530228282", "sender": "rolling-restart", "message": {"n": n}, "priority": 2}
                    response = session.post(f"{self.url}/api/ingest", json=record, headers={"X-Token": key}, timeout=10)
                    ok = response.status_code == 202
                    if ok:
                        self.accepted.append(response.json()["id"])
            except requests.RequestException as exc:
                self.failures.append(f"{kind}: {type(exc).__name__}: {exc}")
                continue
            self.served.append((time.monotonic(), kind, response.headers.get("X-Served-By", "?"), response.status_code))
            if not ok:
                self.failures.append(f"{kind}: {response.status_code} {response.text[:200]}")

    def last_served_by(self, server: str) -> float:
        return max((t for t, _, name, _ in self.served if name == server), default=float("nan"))


def _wait_ready_red(server: Server, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with _suppress_os_errors():
            if requests.get(server.url("/api/ready"), timeout=2).status_code == 503:
                return time.monotonic()
        time.sleep(0.02)
    raise AssertionError(f"readiness of port {server.port} still green {timeout}s after SIGTERM")


def test_rolling_restart_behind_haproxy_fails_no_request_and_loses_nothing(make_client, tmp_path):
    from django.contrib.auth.models import Group

    from accounts.roles import INGEST

    call_command(
        "import_memes", "memes/sample/sample_memes.csv", "--languages", "memes/sample/sample_languages.csv", verbosity=0
    )
    Group.objects.get_or_create(name=INGEST)
    paid = [make_client(tokens=TOKENS) for _ in range(PAID_THREADS)]
    ingest_client, ingest_key = make_client(roles=[INGEST])
    queue = f"ingest-rolling-{uuid.uuid4().hex[:10]}"
    env = {"WEB_DRAIN_SECONDS": str(DRAIN), "INGEST_QUEUE": queue}
    ports = {"a": free_port(), "b": free_port()}
    balancer = LoadBalancer(tmp_path, ports)
    worker = Worker(tmp_path, queue)
    traffic = Traffic(f"http://127.0.0.1:{balancer.port}", [key for _, key in paid], ingest_key)
    timings: list[str] = []
    servers: dict[str, Server] = {}
    try:
        try:
            for name, port in ports.items():
                servers[name] = start_server(port=port, env=env)
            for name in servers:
                balancer.wait_status(name, "UP", 15)
            worker.start()
            traffic.start()
            time.sleep(2)
            for name in ("a", "b"):
                sent = time.monotonic()
                servers[name].process.send_signal(signal.SIGTERM)
                red = _wait_ready_red(servers[name], 2)
                down = balancer.wait_status(name, "DOWN", DRAIN)
                code = servers[name].process.wait(DRAIN + 15)
                exited = time.monotonic()
                assert code == 0, f"instance {name} exited with {code}:\n{servers[name].log_tail()}"
                last = traffic.last_served_by(name)
                servers[name] = start_server(port=ports[name], env=env)
                up = balancer.wait_status(name, "UP", 15)
                timings.append(
                    f"instance {name}: readiness red {red - sent:.2f}s after SIGTERM, HAProxy DOWN {down - sent:.2f}s, "
                    f"last request served {last - sent:.2f}s, exited {exited - sent:.2f}s; "
                    f"replacement ready and UP {up - exited:.1f}s after the exit"
                )
                served_by_new = len(traffic.served)
                time.sleep(1.5)
                assert any(n == name for _, _, n, _ in traffic.served[served_by_new:]), f"the new {name} serves nothing"
            code, took = worker.terminate()
            timings.append(f"worker: SIGTERM to exit {took:.2f}s, code {code}")
            assert code == 0, worker.log_path.read_text()[-3000:]
            worker.start()
            time.sleep(2)
        finally:
            traffic.finish()
            stats = balancer.stat() if balancer.process.poll() is None else {}
            balancer.stop()
            for server in servers.values():
                server.stop()
        # Everything accepted gets stored: the worker empties the outbox.
        deadline = time.monotonic() + 60
        while IngestOutbox.objects.filter(client_id=ingest_client.pk).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.kill()
        _delete_queue(queue)
    for line in timings:
        print(line)
    counts = {kind: sum(1 for _, k, _, _ in traffic.served if k == kind) for kind in ("paid", "ingest")}
    retries = {name: (row["wretr"], row["wredis"]) for name, row in stats.items()}
    print(f"requests answered: {counts}; HAProxy retries/redispatches per server: {retries}")

    assert traffic.failures == [], traffic.failures[:10]
    assert counts["paid"] > 100 and counts["ingest"] > 100, counts
    assert all(r == ("0", "0") for r in retries.values()), f"the load balancer had to retry: {retries}"
    assert_ledger_consistent()
    for client, _ in paid:
        served = TokenAccount.objects.get(client=client)
        assert served.balance == TOKENS - served.paid_calls and served.tokens_spent == served.paid_calls
    assert sum(TokenAccount.objects.get(client=c).paid_calls for c, _ in paid) == counts["paid"]
    stored = list(IngestRecord.objects.filter(client=ingest_client).values_list("uuid", flat=True))
    assert len(stored) == len(traffic.accepted) == counts["ingest"]
    assert {str(u) for u in stored} == set(traffic.accepted)
    assert not IngestFailedRecord.objects.exists()
