"""Operators' views: the admin's record list (search, filters), failed records, the metrics gauge."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client as DjangoClient

from ingest.models import IngestFailedRecord, IngestOutbox, IngestRecord
from ingest.services import failed_records_save, records_store

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/ingest/ingestrecord/"


def store(client_id: int, *, sender: str, priority: int | None = None, ts: int = 1530228282) -> str:
    record_id = str(uuid.uuid4())
    records_store(
        records=[
            {
                "id": record_id,
                "client": client_id,
                "ts": ts,
                "sender": sender,
                "message": {"k": "v"},
                "ip": None,
                "priority": priority,
                "received": time.time(),
            }
        ]
    )
    return record_id


@pytest.fixture
def records(make_client: Any) -> dict[str, Any]:
    alpha, _ = make_client("alpha", roles=["ingest"])
    beta, _ = make_client("beta", roles=["ingest"])
    return {
        "alpha": alpha,
        "beta": beta,
        "a1": store(alpha.pk, sender="billing-service", priority=1, ts=1530228282),
        "a2": store(alpha.pk, sender="search-service", priority=5, ts=1600000000),
        "b1": store(beta.pk, sender="billing-batch", priority=1, ts=1600000000),
    }


def listed(admin_client: DjangoClient, **params: Any) -> set[str]:
    response = admin_client.get(LIST_URL, params)
    assert response.status_code == 200
    html = response.content.decode()
    return {str(row.uuid) for row in IngestRecord.objects.all() if str(row.uuid) in html}


def test_the_admin_lists_stored_records(admin_client: DjangoClient, records: dict[str, Any]) -> None:
    assert listed(admin_client) == {records["a1"], records["a2"], records["b1"]}


def test_the_admin_searches_by_sender_and_by_exact_id(admin_client: DjangoClient, records: dict[str, Any]) -> None:
    assert listed(admin_client, q="billing") == {records["a1"], records["b1"]}
    assert listed(admin_client, q=records["a2"]) == {records["a2"]}
    assert listed(admin_client, q="not-a-uuid-or-sender") == set()


def test_the_admin_filters_by_priority_client_and_date(admin_client: DjangoClient, records: dict[str, Any]) -> None:
    assert listed(admin_client, priority=1) == {records["a1"], records["b1"]}
    assert listed(admin_client, client__id__exact=records["beta"].pk) == {records["b1"]}
    assert listed(admin_client, ts__gte="2020-01-01 00:00:00+00:00", ts__lt="2021-01-01 00:00:00+00:00") == {
        records["a2"],
        records["b1"],
    }


def test_records_cannot_be_added_or_edited_in_the_admin(admin_client: DjangoClient, records: dict[str, Any]) -> None:
    assert admin_client.get(f"{LIST_URL}add/").status_code == 403
    row = IngestRecord.objects.get(uuid=records["a1"])
    page = admin_client.get(f"{LIST_URL}{row.pk}/change/")
    assert page.status_code == 200
    assert b'name="sender"' not in page.content  # read-only view


def test_failed_records_can_be_replayed_from_the_admin(admin_client: DjangoClient, make_client: Any) -> None:
    client, _ = make_client(roles=["ingest"])
    record = {
        "id": str(uuid.uuid4()),
        "client": client.pk,
        "ts": 1530228282,
        "sender": "s",
        "message": {"a": 1},
        "ip": None,
        "priority": None,
        "received": time.time(),
    }
    failed_records_save(entries=[(record, "database was down")])
    failed = IngestFailedRecord.objects.get(uuid=record["id"])
    response = admin_client.post(
        "/admin/ingest/ingestfailedrecord/", {"action": "replay", "_selected_action": [failed.pk]}, follow=True
    )
    assert response.status_code == 200
    failed.refresh_from_db()
    assert failed.replayed_at is not None
    assert IngestOutbox.objects.get(uuid=record["id"]).payload == record  # queued again


def test_the_failed_and_queued_gauges_are_in_the_metrics(client: DjangoClient, make_client: Any) -> None:
    owner, _ = make_client(roles=["ingest"])
    entries = [({"id": str(uuid.uuid4()), "client": owner.pk}, "boom") for _ in range(3)]
    failed_records_save(entries=entries)
    for _ in range(2):
        IngestOutbox.objects.create(uuid=uuid.uuid4(), client_id=owner.pk, payload={})
    body = client.get("/metrics").content.decode()
    assert "maas_ingest_failed_records 3.0" in body
    assert "maas_ingest_outbox_records 2.0" in body


def test_queued_records_are_listed_but_cannot_be_deleted_in_the_admin(
    admin_client: DjangoClient, make_client: Any
) -> None:
    owner, _ = make_client(roles=["ingest"])
    row = IngestOutbox.objects.create(uuid=uuid.uuid4(), client_id=owner.pk, payload={"a": 1})
    listing = admin_client.get("/admin/ingest/ingestoutbox/")
    assert listing.status_code == 200
    assert str(row.uuid) in listing.content.decode()
    for term, found in [(str(owner.pk), True), (str(row.uuid), True), ("not-a-number", False)]:
        page = admin_client.get("/admin/ingest/ingestoutbox/", {"q": term})
        assert page.status_code == 200
        assert (str(row.uuid) in page.content.decode()) == found, term
    assert admin_client.get(f"/admin/ingest/ingestoutbox/{row.pk}/delete/").status_code == 403


def test_received_and_record_timestamps_are_kept_apart(records: dict[str, Any]) -> None:
    row = IngestRecord.objects.get(uuid=records["a1"])
    assert row.ts == datetime.fromtimestamp(1530228282, tz=UTC)
    assert row.received_at > row.ts


def test_the_outbox_age_is_that_of_its_oldest_record(client: DjangoClient, make_client: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from tests.metrics_scrape import scrape, value

    owner, _ = make_client(roles=["ingest"])
    assert value(scrape(), "maas_ingest_outbox_oldest_age_seconds") == 0  # empty
    now = timezone.now()
    for age in (5, 120, 30):
        IngestOutbox.objects.create(
            uuid=uuid.uuid4(), client_id=owner.pk, payload={}, received_at=now - timedelta(seconds=age)
        )
    assert 120 <= value(scrape(), "maas_ingest_outbox_oldest_age_seconds") < 180


def test_a_stored_batch_is_timed_and_its_records_freshness_observed(make_client: Any) -> None:
    from ingest.tasks import ingest_store_batch
    from tests.metrics_scrape import scrape, value

    owner, _ = make_client(roles=["ingest"])
    accepted = time.time() - 3.0  # accepted 3 s ago
    records = [
        {"id": str(uuid.uuid4()), "client": owner.pk, "ts": 1530228282, "sender": "s", "message": {},
         "ip": None, "priority": None, "received": accepted}
        for _ in range(4)
    ]  # fmt: skip
    before = scrape()
    ingest_store_batch.fn(records)
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert IngestRecord.objects.filter(uuid__in=[r["id"] for r in records]).count() == 4
    assert delta("maas_ingest_batch_seconds_count") == 1
    assert delta("maas_ingest_stored_records_total") == 4
    assert delta("maas_ingest_freshness_seconds_count") == 4
    assert delta("maas_ingest_freshness_seconds_bucket", le="2.0") == 0  # 3 s old: above the 2 s bucket
    assert delta("maas_ingest_freshness_seconds_bucket", le="5.0") == 4
