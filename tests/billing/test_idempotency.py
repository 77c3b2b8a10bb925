"""Idempotency-Key: a retried call returns the same result and is charged once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.exceptions import IdempotencyKeyReused, InsufficientTokens
from billing.models import IdempotencyRecord
from billing.services import idempotency_records_purge
from tests.billing.helpers import assert_ledger_consistent, balance, charge, debits

pytestmark = pytest.mark.django_db


def test_same_key_returns_the_same_result_and_charges_once(make_client, charge_path):
    client, _ = make_client(tokens=10)
    first = charge(client.pk, key="retry-1", price=2)
    again = charge(client.pk, key="retry-1", price=2)
    assert again.payload == first.payload
    assert (first.charged, first.balance, first.replayed) == (2, 8, False)
    assert (again.charged, again.price, again.balance, again.replayed) == (0, 2, 8, True)
    assert again.ledger_entry_id == first.ledger_entry_id
    assert balance(client.pk) == 8 and debits(client.pk) == 1
    assert_ledger_consistent()


def test_replay_does_not_run_the_producer_again(make_client, charge_path):
    client, _ = make_client(tokens=10)
    runs = []
    for _ in range(3):
        charge(client.pk, key="k", produce=lambda: runs.append(1) or {"meme": "once"})
    assert len(runs) == 1


def test_replay_is_served_even_when_the_balance_is_now_zero(make_client, charge_path):
    client, _ = make_client(tokens=1)
    first = charge(client.pk, key="last-token")
    assert first.balance == 0
    again = charge(client.pk, key="last-token")
    assert (again.payload, again.charged, again.balance) == (first.payload, 0, 0)


def test_same_key_with_different_parameters_is_refused_with_422(make_client, charge_path):
    client, _ = make_client(tokens=10)
    charge(client.pk, key="k", fingerprint="GET /api/memes?query=cat")
    with pytest.raises(IdempotencyKeyReused) as raised:
        charge(client.pk, key="k", fingerprint="GET /api/memes?query=dog")
    assert raised.value.status_code == 422
    assert raised.value.error_code == "idempotency_key_reused"
    assert debits(client.pk) == 1


def test_keys_are_per_client(make_client, charge_path):
    alice, _ = make_client(tokens=5)
    bob, _ = make_client(tokens=5)
    a = charge(alice.pk, key="shared", produce=lambda: {"meme": "alice"})
    b = charge(bob.pk, key="shared", produce=lambda: {"meme": "bob"})
    assert (a.payload, b.payload) == ({"meme": "alice"}, {"meme": "bob"})
    assert balance(alice.pk) == balance(bob.pk) == 4


def test_after_the_key_lifetime_the_same_key_is_a_new_charge(make_client, charge_path):
    client, _ = make_client(tokens=10)
    first = charge(client.pk, key="daily")
    IdempotencyRecord.objects.filter(key="daily").update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    later = charge(client.pk, key="daily", fingerprint="GET /api/memes?query=other")  # new request, no 422
    assert (later.charged, later.replayed) == (1, False)
    assert later.payload != first.payload
    assert balance(client.pk) == 8 and debits(client.pk) == 2
    assert IdempotencyRecord.objects.filter(key="daily").count() == 1
    assert charge(client.pk, key="daily", fingerprint="GET /api/memes?query=other").replayed


def test_nothing_is_stored_when_the_call_fails(make_client, charge_path):
    client, _ = make_client(tokens=1)

    def no_match():
        raise LookupError

    with pytest.raises(LookupError):
        charge(client.pk, key="k1", produce=no_match)
    with pytest.raises(InsufficientTokens):
        charge(client.pk, key="k2", price=5)
    assert not IdempotencyRecord.objects.exists()
    # The same keys work normally afterwards.
    assert charge(client.pk, key="k1").charged == 1


def test_replayed_payload_is_the_json_the_first_call_returned(make_client, charge_path):
    client, _ = make_client(tokens=5)
    served_at = timezone.now()
    first = charge(client.pk, key="k", produce=lambda: {"at": served_at, "tags": ("a", "b")})
    again = charge(client.pk, key="k")
    assert first.payload == again.payload
    assert isinstance(first.payload["at"], str) and first.payload["tags"] == ["a", "b"]


def test_purge_removes_only_expired_records(make_client):
    client, _ = make_client(tokens=5)
    charge(client.pk, key="old")
    charge(client.pk, key="new")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(days=2))
    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    call_command("purge_idempotency_records", "--older-than-hours", "0")
    assert not IdempotencyRecord.objects.exists()
