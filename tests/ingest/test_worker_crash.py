"""Nothing lost, nothing doubled: on the real broker and PostgreSQL, a worker process is killed
(SIGKILL) in the middle of storing 1,000 accepted records, then started again; every record ends
up stored exactly once.

The web side runs in this process (the test client) and publishes with confirms to the real
broker; the worker is a real ``manage.py rundramatiq`` process group on the same test database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from ingest.models import IngestFailedRecord, IngestRecord
from tests.ingest.conftest import VALID, _delete_queue, post_record, wait_until

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 1_000
KILL_AFTER = 250
DEADLINE_SECONDS = int(os.environ.get("INGEST_CRASH_TEST_DEADLINE", "120"))


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """``manage.py rundramatiq`` in its own process group, so SIGKILL reaches its children too."""

    def __init__(self, queue_name: str, log_path: Path) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "INGEST_QUEUE": queue_name,
            # Small batches, one thread: storing 1,000 records takes ~100 messages, so the kill lands
            # in the middle of the run rather than after two 500-record batches already finished.
            "INGEST_RELAY_BATCH": "10",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


@pytest.mark.services
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(ingest_api: Any, settings: Any) -> None:
    if django_settings.BROKER_URL.startswith("redis") and "INGEST_CRASH_TEST_DEADLINE" not in os.environ:
        pytest.skip(
            "the Redis broker requeues a dead worker's messages only once its heartbeat is 60 s old and a "
            "random maintenance pass runs (161 s measured; docs/ingest.md); set INGEST_CRASH_TEST_DEADLINE=600 "
            "to run it anyway. CI runs it on RabbitMQ."
        )
    api, client = ingest_api
    queue_name = f"ingest-crash-{uuid.uuid4().hex[:10]}"
    settings.INGEST = {**settings.INGEST, "QUEUE_NAME": queue_name}
    deadline = time.monotonic() + DEADLINE_SECONDS
    with tempfile.TemporaryDirectory(prefix="ingest-crash-") as tmp:
        worker = WorkerProcess(queue_name, Path(tmp) / "worker.log")
        accepted: list[str] = []
        refused: list[int] = []

        def post_all() -> None:
            try:
                for n in range(TOTAL):
                    response = post_record(api, {**VALID, "message": {"n": n}})
                    if response.status_code == 202:
                        accepted.append(response.json()["id"])
                    else:
                        refused.append(response.status_code)
            finally:
                connection.close()  # this thread's own connection, or the test database cannot be dropped

        def stored() -> int:
            return IngestRecord.objects.filter(client=client).count()

        try:
            worker.start()
            poster = threading.Thread(target=post_all, name="poster")
            poster.start()
            assert wait_until(lambda: stored() >= KILL_AFTER, timeout=max(1, deadline - time.monotonic())), (
                f"the worker stored {stored()} records; log:\n{worker.log_tail()}"
            )
            worker.kill()
            stored_at_kill = stored()
            print(f"killed the worker with {stored_at_kill} of {TOTAL} stored, {len(accepted)} accepted")
            poster.join(max(1, deadline - time.monotonic()))
            assert not poster.is_alive(), "posting did not finish in time"
            assert refused == [] and len(accepted) == TOTAL
            assert stored_at_kill < TOTAL, "the worker finished before it was killed: nothing was tested"
            time.sleep(0.5)
            assert stored() < TOTAL  # with the worker dead, the rest waits in the broker

            worker.start()
            done = wait_until(lambda: stored() >= TOTAL, timeout=max(1, deadline - time.monotonic()), interval=0.2)
            assert done, f"{stored()} of {TOTAL} stored within {DEADLINE_SECONDS}s; log:\n{worker.log_tail()}"
            print(f"all stored {time.monotonic() - deadline + DEADLINE_SECONDS:.1f}s after the start")
            time.sleep(1.0)  # a redelivered duplicate, if any, would land now
        finally:
            worker.stop()
            _delete_queue(queue_name)

        rows = list(IngestRecord.objects.filter(client=client).values_list("uuid", flat=True))
        assert len(rows) == TOTAL
        assert {str(u) for u in rows} == set(accepted)
        assert sorted(
            m["n"] for m in IngestRecord.objects.filter(client=client).values_list("message", flat=True)
        ) == list(range(TOTAL))
        assert not IngestFailedRecord.objects.exists()
        assert stored_at_kill >= KILL_AFTER
