"""From 202 to a stored row: outbox, relay, worker, idempotent storing, failures, retries, dead letters."""

from __future__ import annotations

import ipaddress
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
import pytest
from django.core.management import call_command
from django.db import OperationalError
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import ConnectionClosed
from prometheus_client import REGISTRY

import ingest.services
import ingest.tasks
from ingest.embedded import embedded_worker_stop
from ingest.models import IngestFailedRecord, IngestOutbox, IngestRecord
from ingest.services import batch_publish, outbox_relay, records_store
from tests.ingest.conftest import TEST_QUEUE, VALID, WorkerHandle, _delete_queue, post_record, relay_all, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ON_STUB = isinstance(dramatiq.get_broker(), StubBroker)


def settle(worker: WorkerHandle, predicate: Any, *, timeout: float = 30.0) -> None:
    """Wait for the worker: exactly on the stub broker, by polling the database on real brokers."""
    if ON_STUB:
        worker.drain(timeout=timeout)
    assert wait_until(predicate, timeout=timeout if not ON_STUB else 0.5), "the worker did not get there in time"


def payload(client_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "client": client_id,
        "ts": 1530228282,
        "sender": "svc",
        "message": {"k": "v"},
        "ip": "10.0.0.1",
        "priority": 1,
        "received": time.time(),
        **overrides,
    }


def test_an_accepted_record_is_relayed_stored_and_leaves_the_outbox(ingest_api: Any, worker: WorkerHandle) -> None:
    api, client = ingest_api
    record_id = post_record(api, VALID).json()["id"]
    assert relay_all() == 1
    # No longer pending: marked relayed, or already stored and gone (the worker thread may be that quick).
    assert not IngestOutbox.objects.filter(uuid=record_id, relayed_at__isnull=True).exists()
    settle(worker, lambda: IngestRecord.objects.filter(uuid=record_id).exists())

    row = IngestRecord.objects.get(uuid=record_id)
    assert row.client_id == client.pk
    assert row.ts == datetime.fromtimestamp(1530228282, tz=UTC)
    assert row.sender == "testy-test-service"
    assert row.message == {"foo": "bar", "baz": "bang"}
    assert ipaddress.IPv4Address(row.sent_from_ip) == ipaddress.IPv4Address("1.2.3.4")
    assert row.priority == 2
    assert row.received_at <= row.stored_at
    assert not IngestOutbox.objects.filter(uuid=record_id).exists()

    status = api.get(f"/api/ingest/{record_id}").json()
    assert status["status"] == "stored"
    assert status["record"] == {
        "ts": 1530228282,
        "sender": "testy-test-service",
        "message": {"foo": "bar", "baz": "bang"},
        "sent-from-ip": "1.2.3.4",
        "priority": 2,
    }


def test_optional_fields_absent_are_stored_as_null(ingest_api: Any, worker: WorkerHandle) -> None:
    api, _ = ingest_api
    response = post_record(api, {"ts": 1530228282, "sender": "s", "message": {"a": [1, {"b": None}]}})
    record_id = response.json()["id"]
    relay_all()
    settle(worker, lambda: IngestRecord.objects.filter(uuid=record_id).exists())
    row = IngestRecord.objects.get(uuid=record_id)
    assert (row.sent_from_ip, row.priority, row.message) == (None, None, {"a": [1, {"b": None}]})


def test_the_relay_sends_many_records_per_message(ingest_api: Any, worker: WorkerHandle, settings: Any) -> None:
    settings.INGEST = {**settings.INGEST, "RELAY_BATCH": 4}
    api, client = ingest_api
    for n in range(10):
        post_record(api, {**VALID, "message": {"n": n}})
    assert [outbox_relay() for _ in range(4)] == [4, 4, 2, 0]
    settle(worker, lambda: IngestRecord.objects.filter(client=client).count() == 10)
    assert sorted(m["n"] for m in IngestRecord.objects.values_list("message", flat=True)) == list(range(10))
    assert IngestOutbox.objects.count() == 0


def test_the_same_message_delivered_twice_stores_one_row(ingest_api: Any, worker: WorkerHandle) -> None:
    _, client = ingest_api
    records = [payload(client.pk) for _ in range(3)]
    batch_publish(records)
    batch_publish(records)  # a redelivery: same records, same ids
    batch_publish(records[:1])
    ids = [r["id"] for r in records]
    settle(worker, lambda: IngestRecord.objects.filter(uuid__in=ids).count() == 3)
    time.sleep(0 if ON_STUB else 1.0)  # real broker: give a duplicate the chance to show up
    assert IngestRecord.objects.filter(uuid__in=ids).count() == 3


def test_storing_a_batch_again_inserts_nothing(make_client: Any) -> None:
    client, _ = make_client(roles=["ingest"])
    records = [payload(client.pk) for _ in range(5)]
    records_store(records=records)
    records_store(records=[*records[2:], payload(client.pk)])
    assert IngestRecord.objects.filter(client=client).count() == 6


def test_an_idempotency_key_retry_after_storing_stores_nothing_new(ingest_api: Any, worker: WorkerHandle) -> None:
    api, client = ingest_api
    record_id = post_record(api, VALID, HTTP_IDEMPOTENCY_KEY="k-1").json()["id"]
    relay_all()
    settle(worker, lambda: IngestRecord.objects.filter(uuid=record_id).exists())
    assert post_record(api, VALID, HTTP_IDEMPOTENCY_KEY="k-1").json()["id"] == record_id
    assert IngestOutbox.objects.count() == 0  # already stored: nothing queued again
    assert IngestRecord.objects.filter(client=client).count() == 1


def test_a_failed_publish_leaves_the_records_pending_in_the_outbox(
    ingest_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _ = ingest_api
    record_id = post_record(api, VALID).json()["id"]

    def broker_down(records: Any, **kwargs: Any) -> Any:
        raise ConnectionClosed(OSError("connection refused"))

    monkeypatch.setattr(ingest.services, "batch_publish", broker_down)
    with pytest.raises(ConnectionClosed):
        outbox_relay()
    assert IngestOutbox.objects.get(uuid=record_id).relayed_at is None
    monkeypatch.undo()
    assert relay_all() == 1


def test_a_relayed_record_whose_message_was_lost_is_relayed_again(ingest_api: Any, worker: WorkerHandle) -> None:
    api, _ = ingest_api
    record_id = post_record(api, VALID).json()["id"]
    worker.worker.pause()
    relay_all()
    _delete_queue(TEST_QUEUE)  # the broker lost it (purged, or a broker without persistence restarted)
    dramatiq.get_broker().declare_queue(TEST_QUEUE)
    worker.worker.resume()
    assert outbox_relay(redeliver=True) == 0  # relayed just now: not stale yet
    IngestOutbox.objects.filter(uuid=record_id).update(relayed_at=datetime.now(tz=UTC) - timedelta(hours=2))
    assert outbox_relay(redeliver=True) == 1
    settle(worker, lambda: IngestRecord.objects.filter(uuid=record_id).exists())
    assert not IngestOutbox.objects.filter(uuid=record_id).exists()


def test_a_record_the_database_refuses_is_set_aside_and_the_rest_stored(ingest_api: Any, worker: WorkerHandle) -> None:
    _, client = ingest_api
    good = [payload(client.pk) for _ in range(3)]
    orphan = payload(999_999)  # its client no longer exists: the foreign key refuses it
    batch_publish([good[0], orphan, *good[1:]])
    settle(worker, lambda: IngestFailedRecord.objects.filter(uuid=orphan["id"]).exists())
    assert IngestRecord.objects.filter(uuid__in=[r["id"] for r in good]).count() == 3
    failed = IngestFailedRecord.objects.get(uuid=orphan["id"])
    assert "IntegrityError" in failed.error
    assert failed.payload == orphan


def _count_output(capsys: pytest.CaptureFixture[str]) -> str:
    call_command("ingest_deadletters", "--count", "--queue", TEST_QUEUE)
    return capsys.readouterr().out


def test_a_failing_batch_is_retried_with_backoff_then_set_aside_and_replayable(
    ingest_api: Any, worker: WorkerHandle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api, _ = ingest_api
    real_store = ingest.services.records_store
    attempts: list[float] = []

    def database_down(**kwargs: Any) -> Any:
        attempts.append(time.monotonic())
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(ingest.services, "records_store", database_down)
    dead_before = REGISTRY.get_sample_value("maas_ingest_dead_letters_total") or 0.0
    ids = [post_record(api, {**VALID, "message": {"n": n}}).json()["id"] for n in range(2)]
    rows = [row.payload for row in IngestOutbox.objects.all()]
    IngestOutbox.objects.update(relayed_at=datetime.now(tz=UTC))  # what the relay does, with:
    batch_publish(rows, options={"max_retries": 2, "min_backoff": 100, "max_backoff": 1000})
    settle(worker, lambda: IngestFailedRecord.objects.filter(uuid__in=ids).count() == 2)

    assert len(attempts) == 3  # the first try and two retries
    assert REGISTRY.get_sample_value("maas_ingest_dead_letters_total") == dead_before + 1  # one batch
    assert attempts[1] - attempts[0] >= 0.09 and attempts[2] - attempts[1] >= 0.09
    assert IngestRecord.objects.filter(uuid__in=ids).count() == 0
    assert IngestOutbox.objects.filter(uuid__in=ids).count() == 0  # set aside: no more relays
    errors = {r.error.split(":")[0] for r in IngestFailedRecord.objects.filter(uuid__in=ids)}
    assert errors == {"gave up after 3 attempts"}
    status = api.get(f"/api/ingest/{ids[0]}").json()
    assert status["status"] == "failed"
    assert "OperationalError" not in str(status)  # the database error is for operators only

    out = _count_output(capsys)
    assert "failed_records_pending=2" in out
    assert wait_until(lambda: "broker_dead_letters=1" in _count_output(capsys), timeout=10)

    # The database is back: the operator replays; the broker's copy is absorbed, not stored twice.
    monkeypatch.setattr(ingest.services, "records_store", real_store)
    call_command("ingest_deadletters", "--replay", "--queue", TEST_QUEUE)
    out = capsys.readouterr().out
    assert "imported_dead_letters=1" in out and "replayed=2" in out
    assert api.get(f"/api/ingest/{ids[0]}").json()["status"] == "queued"
    assert relay_all() == 2
    settle(worker, lambda: IngestRecord.objects.filter(uuid__in=ids).count() == 2)
    assert api.get(f"/api/ingest/{ids[0]}").json()["status"] == "stored"
    assert IngestFailedRecord.objects.filter(uuid__in=ids, replayed_at__isnull=True).count() == 0
    assert IngestFailedRecord.objects.get(uuid=ids[0]).attempts == 1
    assert "failed_records_pending=0" in _count_output(capsys)
    assert "broker_dead_letters=0" in _count_output(capsys)


def test_dead_letters_the_database_missed_are_imported_and_replayed_once(
    ingest_api: Any, worker: WorkerHandle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The database stayed down longer than the failure recorder's own retries: the broker's dead
    letters are the only record of the failure (the records themselves are still in the outbox),
    and ``--replay`` brings them back, each record once."""
    api, _ = ingest_api

    def down(**kwargs: Any) -> Any:
        raise OperationalError("database is down")

    monkeypatch.setattr(ingest.services, "records_store", down)
    monkeypatch.setattr(ingest.services, "dead_message_save", down)
    monkeypatch.setitem(ingest.tasks.ingest_dead_batch.options, "max_retries", 0)
    record_id = post_record(api, VALID).json()["id"]
    batch_publish([IngestOutbox.objects.get(uuid=record_id).payload], options={"max_retries": 0})
    # Both are dead: the store message, and the recorder's message about it.
    assert wait_until(lambda: "broker_dead_letters=2" in _count_output(capsys), timeout=30)
    if ON_STUB:
        worker.drain()
    assert not IngestFailedRecord.objects.filter(uuid=record_id).exists()
    assert IngestOutbox.objects.filter(uuid=record_id).exists()  # never lost meanwhile

    monkeypatch.undo()
    call_command("ingest_deadletters", "--replay", "--queue", TEST_QUEUE)
    out = capsys.readouterr().out
    assert "imported_dead_letters=2" in out and "replayed=1" in out
    relay_all()
    settle(worker, lambda: IngestRecord.objects.filter(uuid=record_id).exists())
    call_command("ingest_deadletters", "--list")
    assert record_id not in capsys.readouterr().out  # replayed: no longer pending


@pytest.mark.skipif(not ON_STUB, reason="the embedded default runs on the stub broker")
def test_on_the_embedded_default_the_web_process_stores_records_itself(ingest_api: Any, settings: Any) -> None:
    settings.INGEST = {**settings.INGEST, "EMBEDDED_WORKER": True, "RELAY_IN_WORKER": True, "RELAY_IDLE_SECONDS": 0.05}
    api, _ = ingest_api
    try:
        record_id = post_record(api, VALID).json()["id"]
        assert wait_until(lambda: api.get(f"/api/ingest/{record_id}").json()["status"] == "stored", timeout=10)
    finally:
        embedded_worker_stop()
