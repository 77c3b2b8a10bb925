"""SIGTERM to the worker in the middle of a burst, as Kubernetes sends it on a rollout: it finishes
the batches it is storing, gives the messages it holds back to the broker and exits 0, quickly;
started again, it stores the rest at once. Every record ends up stored exactly once.

"At once" is the point: a message the stopped worker had taken and neither stored nor given back
would only be relayed again after RELAY_REDELIVER_SECONDS (an hour), and the test would time out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from ingest.models import IngestFailedRecord, IngestRecord
from tests.ingest.conftest import VALID, _delete_queue, post_record, wait_until
from tests.ingest.test_worker_crash import _database_url

ROOT = Path(__file__).resolve().parents[2]
# The worker goes on storing for a second or more after the SIGTERM (Dramatiq's worker process
# looks at its stop flag once a second, then finishes what it holds): up to ~2,000 records on a quick
# machine. 5,000 keeps most of the burst for the restart, so the stop always lands mid-burst.
TOTAL = 5_000
BATCH = 10
STOP_AFTER = 50


def _worker(queue_name: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "DATABASE_URL": _database_url(),
        "INGEST_QUEUE": queue_name,
        # ~500 small messages, one thread: the stop lands early in the run.
        "INGEST_RELAY_BATCH": str(BATCH),
        "WORKER_PROCESSES": "1",
        "WORKER_THREADS": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    with log.open("ab") as sink:
        return subprocess.Popen(
            [str(ROOT / "deploy" / "worker")], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


@pytest.mark.services
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sigterm_mid_burst_stores_or_returns_every_batch(ingest_api: Any, settings: Any, tmp_path: Path) -> None:
    api, client = ingest_api
    queue_name = f"ingest-sigterm-{uuid.uuid4().hex[:10]}"
    settings.INGEST = {**settings.INGEST, "QUEUE_NAME": queue_name}
    accepted = []
    for n in range(TOTAL):
        response = post_record(api, {**VALID, "message": {"n": n}})
        assert response.status_code == 202
        accepted.append(response.json()["id"])

    def stored() -> int:
        return IngestRecord.objects.filter(client=client).count()

    log = tmp_path / "worker.log"
    worker = _worker(queue_name, log)
    try:
        assert wait_until(lambda: stored() >= STOP_AFTER, timeout=90), log.read_text()[-3000:]
        sent = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(40)
        took = time.monotonic() - sent
        stored_at_stop = stored()
        print(f"worker stopped {took:.2f}s after SIGTERM with {stored_at_stop} of {TOTAL} stored")
        assert code == 0, f"exit code {code}:\n{log.read_text()[-3000:]}"
        assert took < 15, f"the worker took {took:.1f}s to stop"
        assert stored_at_stop < TOTAL, "the burst was over before the SIGTERM: nothing was tested"
        assert stored_at_stop % BATCH == 0, "a batch was stored in part"
        time.sleep(0.5)
        assert stored() == stored_at_stop, "something was stored after the worker exited"

        worker = _worker(queue_name, log)
        assert wait_until(lambda: stored() >= TOTAL, timeout=120, interval=0.2), (
            f"{stored()} of {TOTAL} stored two minutes after the restart:\n{log.read_text()[-3000:]}"
        )
        time.sleep(1.0)  # a duplicate, if any, would land now
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(5)
        _delete_queue(queue_name)

    rows = list(IngestRecord.objects.filter(client=client).values_list("uuid", flat=True))
    assert len(rows) == TOTAL
    assert {str(u) for u in rows} == set(accepted)
    assert not IngestFailedRecord.objects.exists()
