"""The broker and the worker, faulted on the private stack (tests/reliability/stack.py): its own
PostgreSQL, Redis and RabbitMQ, the production server and a real worker (``deploy/worker``).

- RabbitMQ stopped: ingest still answers 202 (the record is committed to the outbox in
  PostgreSQL), readiness stays green and names the broker as degraded; once RabbitMQ is back the
  worker relays the outbox and every accepted record is stored exactly once.
- The worker SIGKILLed 5 times during a 5,000-record burst: accepted == stored, no duplicate.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
import requests

from tests.reliability.stack import MISSING_TOOLS, RECORD, REQUIRE_SERVICES, ROOT, Stack, get, post

if MISSING_TOOLS and not REQUIRE_SERVICES:
    pytestmark = pytest.mark.skip(reason=f"fault tests need {', '.join(MISSING_TOOLS)} installed")


class Worker:
    """``deploy/worker`` (Dramatiq, which relays the outbox too) on the stack, in its own process group."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.log = stack.base / "worker.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            **self.stack.env(),
            "WORKER_PROCESSES": "1",
            "WORKER_THREADS": "2",
            "INGEST_RELAY_BATCH": "50",  # many messages: a kill lands in the middle of the work
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        }
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [str(ROOT / "deploy" / "worker")],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@pytest.fixture
def worker(fresh_stack: Stack) -> Iterator[Worker]:
    running = Worker(fresh_stack)
    try:
        yield running
    finally:
        running.stop()


def _stored(stack: Stack, client: str) -> tuple[int, int]:
    """(records stored for ``client``, distinct record ids among them), read in the stack's database."""
    with psycopg.connect(stack.postgres.url, autocommit=True) as db:
        row = db.execute(
            "SELECT count(*), count(DISTINCT r.uuid) FROM ingest_ingestrecord r "
            "JOIN accounts_client c ON c.id = r.client_id WHERE c.name = %s",
            (client,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _wait_stored(stack: Stack, client: str, total: int, worker: Worker, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _stored(stack, client)[0] < total:
        time.sleep(0.5)
    assert _stored(stack, client)[0] >= total, f"{_stored(stack, client)} of {total}; worker log:\n{worker.log_tail()}"


def test_broker_down_ingest_accepts_and_every_record_is_stored_once(fresh_stack: Stack, worker: Worker) -> None:
    stack = fresh_stack
    assert stack.rabbitmq is not None
    key = stack.client_create("broker-ingest", roles=("ingest",))
    server = stack.serve()
    worker.start()
    headers = {"X-Token": key}
    assert post(server, "/api/ingest", json=RECORD, headers=headers).status_code == 202
    _wait_stored(stack, "broker-ingest", 1, worker, timeout=60)  # the pipeline runs end to end

    stack.rabbitmq.stop()
    accepted = 1
    for n in range(200):
        response = post(server, "/api/ingest", json={**RECORD, "message": {"n": n}}, headers=headers)
        assert response.status_code == 202, response.text  # committed to the outbox: accepted
        accepted += 1
    ready = get(server, "/api/ready")
    assert ready.status_code == 200, ready.text  # this pod serves: it stays in the Service
    assert ready.json()["status"] == "degraded" and ready.json()["degraded"] == ["broker"], ready.text
    assert ready.json()["components"]["broker"]["ok"] is False
    time.sleep(2)
    assert _stored(stack, "broker-ingest")[0] < accepted  # nothing moves while the broker is down

    stack.rabbitmq.start()
    _wait_stored(stack, "broker-ingest", accepted, worker, timeout=120)
    time.sleep(2)  # anything relayed twice would land by now
    assert _stored(stack, "broker-ingest") == (accepted, accepted)
    assert get(server, "/api/ready").json()["status"] == "ready"


def test_worker_sigkilled_five_times_during_a_burst_stores_every_record_once(
    fresh_stack: Stack,
    worker: Worker,
) -> None:
    stack, total, kills = fresh_stack, 5_000, 5
    key = stack.client_create("burst-ingest", roles=("ingest",))
    server = stack.serve(WEB_WORKERS="2")
    session = requests.Session()

    def send(n: int) -> int:
        body = {**RECORD, "message": {"n": n}}
        return session.post(server.url("/api/ingest"), json=body, headers={"X-Token": key}, timeout=30).status_code

    worker.start()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = pool.map(send, range(total))
        killed = 0
        deadline = time.monotonic() + 240
        while killed < kills and time.monotonic() < deadline:
            # Kill once some of the work is done and some is left; then start it again.
            stored = _stored(stack, "burst-ingest")[0]
            if stored >= (killed + 1) * total // (kills + 2):
                worker.kill()
                killed += 1
                worker.start()
            time.sleep(0.2)
        accepted = sum(1 for status in statuses if status == 202)
    assert killed == kills, f"only {killed} kills before the burst was stored; {_stored(stack, 'burst-ingest')}"
    assert accepted == total
    _wait_stored(stack, "burst-ingest", total, worker, timeout=180)
    time.sleep(3)  # redeliveries of a killed worker's messages would land by now
    assert _stored(stack, "burst-ingest") == (total, total)  # accepted == stored, no duplicate
