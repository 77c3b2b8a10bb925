"""The broker holds nothing we cannot rebuild: the outbox in PostgreSQL is the source of truth.

On the real broker, the ingest queues are deleted twice while records are in flight: once with
messages waiting in them and the worker dead (the node lost its disk), once under a running worker
and relay (an operator deleted the queue). After ``manage.py ingest_outbox --relay-again`` every
accepted record is stored exactly once, with duplicate messages published on purpose.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from ingest.models import IngestFailedRecord, IngestOutbox, IngestRecord
from tests.ingest.conftest import VALID, _delete_queue, post_record, relay_all, wait_until
from tests.ingest.test_worker_crash import WorkerProcess

FIRST = 300
SECOND = 200
DEADLINE_SECONDS = 120


def _relay_again(*args: str) -> dict[str, int]:
    out = StringIO()
    call_command("ingest_outbox", "--relay-again", *args, stdout=out)
    return {k: int(v) for k, v in (word.split("=") for word in out.getvalue().split())}


@pytest.mark.services
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_queues_deleted_in_flight_every_record_stored_once_after_relay_again(ingest_api: Any, settings: Any) -> None:
    if not django_settings.BROKER_URL.startswith("amqp"):
        pytest.skip("drives RabbitMQ's queue deletion; the Redis broker loses its queue keys the same way")
    api, client = ingest_api
    queue_name = f"ingest-loss-{uuid.uuid4().hex[:10]}"
    settings.INGEST = {**settings.INGEST, "QUEUE_NAME": queue_name, "RELAY_BATCH": 10}
    accepted: list[str] = []

    def post(first: int, count: int) -> None:
        try:
            for n in range(first, first + count):
                response = post_record(api, {**VALID, "message": {"n": n}})
                assert response.status_code == 202, response.content
                accepted.append(response.json()["id"])
        finally:
            connection.close()  # a thread's own connection, or the test database cannot be dropped

    def stored() -> int:
        return IngestRecord.objects.filter(client=client).count()

    with tempfile.TemporaryDirectory(prefix="ingest-loss-") as tmp:
        worker = WorkerProcess(queue_name, Path(tmp) / "worker.log")
        try:
            # 1. 300 records published as 30 messages; a worker stores some of them and dies.
            post(0, FIRST)
            assert relay_all() == FIRST
            worker.start()
            assert wait_until(lambda: stored() >= 50, timeout=60), worker.log_tail()
            worker.kill()
            stored_before_loss = stored()
            assert stored_before_loss < FIRST, "the worker finished before the loss: nothing was tested"

            # 2. The broker loses its queues with the rest of the messages in them.
            _delete_queue(queue_name)
            in_flight = IngestOutbox.objects.filter(relayed_at__isnull=False).count()
            assert in_flight == FIRST - stored_before_loss  # published, not stored: only the outbox has them

            # 3. The operator marks them for a new relay; run it twice with a relay in between, so
            #    every one of them is published twice (duplicates the store must absorb).
            assert _relay_again()["marked_for_relay"] == in_flight
            assert relay_all() == in_flight
            counts = _relay_again()
            assert counts["marked_for_relay"] == in_flight and counts["waiting_for_relay"] == in_flight

            # 4. A worker (whose relay publishes them) runs again; meanwhile 200 more records arrive,
            #    and the queue is deleted once more under the running worker and relay.
            worker.start()
            poster = threading.Thread(target=post, args=(FIRST, SECOND), name="poster")
            poster.start()
            assert wait_until(lambda: stored() >= FIRST + 20, timeout=60), worker.log_tail()
            _delete_queue(queue_name)
            poster.join(60)
            assert not poster.is_alive()
            # Whatever that deletion took with it is relayed again now rather than in an hour.
            _relay_again()
            deadline = time.monotonic() + DEADLINE_SECONDS
            done = wait_until(lambda: stored() >= FIRST + SECOND, timeout=deadline - time.monotonic(), interval=0.2)
            if not done:  # the second deletion may have raced the relay; one more pass, as the runbook says
                _relay_again()
                done = wait_until(lambda: stored() >= FIRST + SECOND, timeout=30, interval=0.2)
            assert done, f"{stored()} of {FIRST + SECOND} stored; log:\n{worker.log_tail()}"
            time.sleep(1.5)  # a duplicate delivery, if any, would land now
        finally:
            worker.stop()
            _delete_queue(queue_name)

    rows = IngestRecord.objects.filter(client=client)
    assert rows.count() == FIRST + SECOND
    assert {str(u) for u in rows.values_list("uuid", flat=True)} == set(accepted)
    assert sorted(m["n"] for m in rows.values_list("message", flat=True)) == list(range(FIRST + SECOND))
    assert not IngestOutbox.objects.exists()
    assert not IngestFailedRecord.objects.exists()


@pytest.mark.django_db
def test_ingest_outbox_command_counts_and_refuses_bad_options(ingest_api: Any) -> None:
    from django.core.management.base import CommandError

    api, _ = ingest_api
    for n in range(3):
        assert post_record(api, {**VALID, "message": {"n": n}}).status_code == 202
    IngestOutbox.objects.filter(pk__in=IngestOutbox.objects.values("pk")[:2]).update(relayed_at="2026-01-01T00:00Z")
    out = StringIO()
    call_command("ingest_outbox", stdout=out)
    assert out.getvalue().split() == ["outbox_records=3", "waiting_for_relay=1", "relayed=2"]
    # --older-than: only what was published at least that long ago.
    assert _relay_again("--older-than", str(100 * 365 * 86400))["marked_for_relay"] == 0
    assert _relay_again("--older-than", "60") == {
        "marked_for_relay": 2,
        "outbox_records": 3,
        "waiting_for_relay": 3,
        "relayed": 0,
    }
    with pytest.raises(CommandError, match="positive"):
        call_command("ingest_outbox", "--relay-again", "--older-than", "-1")
    with pytest.raises(CommandError, match="goes with"):
        call_command("ingest_outbox", "--older-than", "5")
