"""Exact to the token under real concurrency: PostgreSQL, many threads released at once."""

from __future__ import annotations

import pytest

from billing.exceptions import InsufficientTokens, PurchaseConflict
from billing.models import IdempotencyRecord, LedgerEntry
from billing.services import PaidCallResult, topup_create
from tests.billing.concurrency import run_at_once
from tests.billing.helpers import assert_ledger_consistent, balance, charge, debits

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 20


def test_300_concurrent_calls_on_100_tokens_serve_exactly_100(make_client, charge_path):
    client, _ = make_client(tokens=100)
    outcomes = run_at_once(THREADS, 300, lambda i: charge(client.pk))
    served = [o for o in outcomes if isinstance(o, PaidCallResult)]
    refused = [o for o in outcomes if isinstance(o, InsufficientTokens)]
    assert len(served) == 100, [o for o in outcomes if not isinstance(o, PaidCallResult | InsufficientTokens)][:3]
    assert len(refused) == 200
    assert all(o.extra_details["price"] == 1 and o.extra_details["balance"] >= 0 for o in refused)
    assert sorted(o.balance for o in served) == list(range(100))  # each token spent once, no balance twice
    assert balance(client.pk) == 0 and debits(client.pk) == 100
    assert_ledger_consistent()


def test_concurrent_duplicates_of_one_idempotency_key_charge_once(make_client, charge_path):
    client, _ = make_client(tokens=10)
    outcomes = run_at_once(THREADS, THREADS, lambda i: charge(client.pk, key="same-retry", produce=lambda: {"n": i}))
    assert all(isinstance(o, PaidCallResult) for o in outcomes), outcomes
    assert len({str(o.payload) for o in outcomes}) == 1  # everyone got the winner's meme
    assert sorted(o.charged for o in outcomes) == [0] * (THREADS - 1) + [1]
    assert balance(client.pk) == 9 and debits(client.pk) == 1
    assert IdempotencyRecord.objects.count() == 1
    assert_ledger_consistent()


def test_concurrent_calls_with_distinct_keys_all_charge(make_client, charge_path):
    client, _ = make_client(tokens=100)
    outcomes = run_at_once(THREADS, 60, lambda i: charge(client.pk, key=f"key-{i % 30}", fingerprint=f"fp-{i % 30}"))
    assert all(isinstance(o, PaidCallResult) for o in outcomes)
    assert sum(o.charged for o in outcomes) == 30
    assert balance(client.pk) == 70
    assert_ledger_consistent()


def test_concurrent_duplicate_purchase_ids_credit_once(make_client):
    client, _ = make_client()
    outcomes = run_at_once(
        THREADS, THREADS, lambda i: topup_create(client_id=client.pk, tokens=50, purchase_id="po-dup", actor="t")
    )
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * (THREADS - 1)
    assert {o.ledger_entry_id for o in outcomes} == {outcomes[0].ledger_entry_id}
    assert balance(client.pk) == 50
    assert LedgerEntry.objects.filter(purchase_id="po-dup").count() == 1
    assert_ledger_consistent()


def test_one_purchase_id_raced_for_different_clients_credits_one_of_them(make_client):
    clients = [make_client()[0] for _ in range(4)]
    outcomes = run_at_once(
        THREADS,
        THREADS,
        lambda i: topup_create(client_id=clients[i % 4].pk, tokens=7, purchase_id="po-race", actor="t"),
    )
    winners = [o for o in outcomes if not isinstance(o, Exception) and not o.replayed]
    assert len(winners) == 1
    for o in outcomes:
        assert isinstance(o, PurchaseConflict) or o.client_id == winners[0].client_id, o
    assert sorted(balance(c.pk) for c in clients) == [0, 0, 0, 7]
    assert_ledger_consistent()


def test_concurrent_credits_and_debits_keep_the_ledger_chained(make_client):
    client, _ = make_client(tokens=50)

    def mixed(i: int):
        if i % 3 == 0:
            return topup_create(client_id=client.pk, tokens=2, purchase_id=f"po-{i}", actor="t")
        return charge(client.pk)

    outcomes = run_at_once(THREADS, 90, mixed)
    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert balance(client.pk) == 50 + 30 * 2 - 60
    assert_ledger_consistent()
