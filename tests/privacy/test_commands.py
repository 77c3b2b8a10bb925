"""Data rights: client_export (everything, one JSON document), client_erase (personal data gone,
keys dead, books whole) and the sent-from-ip retention."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import ApiKey, Client
from billing.models import IdempotencyRecord, LedgerEntry
from ingest.models import IngestFailedRecord, IngestRecord
from memes.models import Meme
from tests.billing.helpers import assert_ledger_consistent, charge
from webhooks.models import Delivery, Event, Webhook
from webhooks.services import event_emit, webhook_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def rich_client(make_client):
    """A client with something in every table that holds personal data."""
    client, raw_key = make_client(name="alice-gmbh", tokens=10)
    client.user.email = "alice@example.com"
    client.user.save()
    charge(client.pk, key="idem-alice")
    charge(client.pk)
    IngestRecord.objects.create(
        uuid=uuid.uuid4(),
        client=client,
        ts=timezone.now(),
        sender="alice-sensor",
        message={"temperature": 21},
        sent_from_ip="203.0.113.77",
        received_at=timezone.now(),
    )
    Meme.objects.create(template="Sleepy Cat", text="ALICE IN PARIS", kind="ai", generator="local", owner=client)
    _, secret = webhook_create(client_id=client.pk, url="http://127.0.0.1:9/alice", events=["key.created"])
    event = event_emit(client_id=client.pk, type="key.created", data={"key_id": 1})
    assert event is not None
    return client, raw_key, secret


def _export(client_id: int) -> dict:
    out = io.StringIO()
    call_command("client_export", str(client_id), stdout=out)
    return json.loads(out.getvalue())


def test_the_export_has_everything_and_no_secret(rich_client):
    client, raw_key, secret = rich_client
    document = _export(client.pk)
    assert document["client"]["name"] == "alice-gmbh" and document["user"]["email"] == "alice@example.com"
    assert [key["prefix"] for key in document["api_keys"]] == list(
        ApiKey.objects.filter(client=client).values_list("prefix", flat=True)
    )
    ledger = document["billing"]["ledger"]
    assert [(entry["type"], entry["amount"]) for entry in ledger] == [
        ("credit", 10),
        ("paid_call", -1),
        ("paid_call", -1),
    ]
    assert ledger[1]["idempotency_key"] == "idem-alice"
    assert document["billing"]["balance"] == 8
    assert document["ingest_records"]["stored"][0]["sent_from_ip"] == "203.0.113.77"
    assert document["ai_memes"][0]["text"] == "ALICE IN PARIS"
    [webhook] = document["webhooks"]
    assert webhook["url"] == "http://127.0.0.1:9/alice" and len(webhook["deliveries"]) == 1
    text = json.dumps(document)
    assert secret not in text and raw_key not in text
    assert ApiKey.objects.get(client=client).key_hash not in text


def test_erasure_removes_personal_data_and_keeps_the_books(rich_client, api_client):
    client, raw_key, _ = rich_client
    amounts = list(
        LedgerEntry.objects.filter(account_id=client.pk).order_by("id").values_list("amount", "balance_after")
    )
    out = io.StringIO()
    call_command("client_erase", str(client.pk), "--yes", stdout=out)
    assert f"erased-{client.pk}" in out.getvalue()

    client = Client.objects.select_related("user").get(pk=client.pk)
    assert client.name == client.user.username == f"erased-{client.pk}"
    assert client.user.email == "" and not client.user.has_usable_password()
    assert not client.is_active and not client.user.is_active
    assert not ApiKey.objects.filter(client=client, revoked_at__isnull=True).exists()
    api_client.credentials(HTTP_X_TOKEN=raw_key)
    assert api_client.get("/api/balance").status_code == 401  # the key stopped working at once
    assert not Webhook.objects.filter(client=client).exists() and not Event.objects.filter(client=client).exists()
    assert not Delivery.objects.exists()
    assert not IngestRecord.objects.filter(client=client).exists()
    assert not Meme.objects.filter(owner=client).exists()
    assert not IdempotencyRecord.objects.filter(client=client).exists()
    # The books: same amounts and balances, nothing personal left in them; check_ledger holds.
    entries = LedgerEntry.objects.filter(account_id=client.pk).order_by("id")
    assert list(entries.values_list("amount", "balance_after")) == amounts
    assert set(entries.values_list("request_ref", "idempotency_key", "actor")) == {("", None, "")}
    assert_ledger_consistent()
    call_command("check_ledger", stdout=io.StringIO())
    # What is left to export is the pseudonymous shell.
    assert _export(client.pk)["user"]["email"] == ""


def test_erasure_needs_confirmation_and_a_real_client(make_client):
    client, _ = make_client()
    with pytest.raises(CommandError, match="--yes"):
        call_command("client_erase", str(client.pk))
    assert Client.objects.get(pk=client.pk).is_active
    with pytest.raises(CommandError, match="No client"):
        call_command("client_erase", "999999", "--yes")
    with pytest.raises(CommandError, match="No client"):
        call_command("client_export", "999999")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {t} SET request_ref = '', actor = '', idempotency_key = NULL, amount = 500 WHERE id = %s",
        "UPDATE {t} SET request_ref = '', actor = '', idempotency_key = NULL, reason = 'x' WHERE id = %s",
        "UPDATE {t} SET request_ref = 'something else' WHERE id = %s",
    ],
)
def test_the_trigger_lets_only_the_redaction_through(make_client, statement):
    client, _ = make_client(tokens=5)
    entry = LedgerEntry.objects.get(account_id=client.pk)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(t=LedgerEntry._meta.db_table), [entry.pk])
    with connection.cursor() as cursor:
        redaction = "SET request_ref = '', actor = '', idempotency_key = NULL"
        cursor.execute(f"UPDATE {LedgerEntry._meta.db_table} {redaction} WHERE id = %s", [entry.pk])
    assert LedgerEntry.objects.get(pk=entry.pk).amount == 5


def _record(client, ip: str, age_days: int) -> IngestRecord:
    return IngestRecord.objects.create(
        uuid=uuid.uuid4(),
        client=client,
        ts=timezone.now(),
        sender="s",
        message={},
        sent_from_ip=ip,
        received_at=timezone.now() - timedelta(days=age_days),
    )


def test_ip_retention_truncates_old_addresses_to_24_only(make_client, settings):
    settings.INGEST = {**settings.INGEST, "IP_RETENTION_DAYS": 30}
    client, _ = make_client()
    old, young, already = (
        _record(client, "198.51.100.77", 31),
        _record(client, "198.51.100.78", 29),
        _record(client, "192.0.2.0", 40),
    )
    failed = IngestFailedRecord.objects.create(
        uuid=uuid.uuid4(),
        client=client,
        payload={"ip": "203.0.113.9", "sender": "s"},
        error="x",
        failed_at=timezone.now() - timedelta(days=31),
    )
    out = io.StringIO()
    call_command("ingest_ip_retention", stdout=out)
    assert out.getvalue().startswith("2 ")
    old.refresh_from_db(), young.refresh_from_db(), already.refresh_from_db(), failed.refresh_from_db()
    assert (old.sent_from_ip, young.sent_from_ip, already.sent_from_ip) == (
        "198.51.100.0",
        "198.51.100.78",
        "192.0.2.0",
    )
    assert failed.payload == {"ip": "203.0.113.0", "sender": "s"}
    out = io.StringIO()
    call_command("ingest_ip_retention", stdout=out)  # idempotent: nothing left to do
    assert out.getvalue().startswith("0 ")
    call_command("ingest_ip_retention", "--days", "0", stdout=io.StringIO())
    young.refresh_from_db()
    assert young.sent_from_ip == "198.51.100.0"
    with pytest.raises(CommandError):
        call_command("ingest_ip_retention", "--days", "-1")
