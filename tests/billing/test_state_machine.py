"""Billing as a state machine (hypothesis ``RuleBasedStateMachine``): random sequences of debits
(with and without an Idempotency-Key, replays, a key reused for another request), top-ups (with
replayed and conflicting purchase ids) and refused debits, checked after every step against a
model: the balance equals the model's, equals the sum of the ledger, and is never below zero.

Concurrent duplicates (two calls with one key at once, two top-ups with one purchase id at once)
need committed data and real threads: ``tests/billing/test_concurrency.py`` races them.
"""

from __future__ import annotations

import itertools
import os

import pytest
from django.db.models import Sum
from django.db.models.functions import Coalesce
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from billing.exceptions import IdempotencyKeyReused, InsufficientTokens, PurchaseConflict
from billing.models import TokenAccount
from billing.services import account_ensure, topup_create
from tests.billing.helpers import charge

pytestmark = pytest.mark.django_db
# At least 500 in CI (the bar); MAAS_STATE_MACHINE_EXAMPLES to explore more, or fewer locally.
EXAMPLES = int(os.environ.get("MAAS_STATE_MACHINE_EXAMPLES", "500"))
_names = itertools.count(1)
_runs = itertools.count(1)

KEYS = st.one_of(st.none(), st.sampled_from(["k1", "k2", "k3"]))
FINGERPRINTS = st.sampled_from(["GET /api/memes?query=cat", "GET /api/memes?query=dog"])


class BillingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        from accounts.services import client_create

        run = next(_runs)
        self.clients = []
        for _ in range(2):
            client = client_create(name=f"sm-{run}-{next(_names)}")
            account_ensure(client_id=client.pk)
            self.clients.append(client.pk)
        self.purchase_prefix = f"PO-{run}-"
        self.balance = dict.fromkeys(self.clients, 0)
        self.keys: dict[tuple[int, str], tuple[str, int, int]] = {}  # (client, key) -> (fingerprint, price, entry)
        self.purchases: dict[str, tuple[int, int]] = {}  # purchase id -> (client, tokens)

    @rule(who=st.integers(0, 1), tokens=st.integers(1, 20), purchase=st.integers(0, 4))
    def top_up(self, who: int, tokens: int, purchase: int) -> None:
        client_id, purchase_id = self.clients[who], f"{self.purchase_prefix}{purchase}"
        seen = self.purchases.get(purchase_id)
        if seen is not None and seen != (client_id, tokens):
            with pytest.raises(PurchaseConflict):
                topup_create(client_id=client_id, tokens=tokens, purchase_id=purchase_id)
            return
        result = topup_create(client_id=client_id, tokens=tokens, purchase_id=purchase_id)
        assert result.replayed is (seen is not None)
        if seen is None:
            self.purchases[purchase_id] = (client_id, tokens)
            self.balance[client_id] += tokens
            assert result.balance_after == self.balance[client_id]

    @rule(who=st.integers(0, 1), price=st.integers(1, 6), key=KEYS, fingerprint=FINGERPRINTS)
    def debit(self, who: int, price: int, key: str | None, fingerprint: str) -> None:
        client_id = self.clients[who]
        earlier = self.keys.get((client_id, key)) if key is not None else None
        if earlier is not None and earlier[0] != fingerprint:
            with pytest.raises(IdempotencyKeyReused):
                charge(client_id, price=price, key=key, fingerprint=fingerprint)
            return
        if earlier is not None:  # a replay: the first outcome, nothing charged now
            result = charge(client_id, price=price, key=key, fingerprint=fingerprint)
            assert result.replayed and result.charged == 0
            assert (result.price, result.ledger_entry_id) == (earlier[1], earlier[2])
            return
        if self.balance[client_id] < price:
            with pytest.raises(InsufficientTokens):
                charge(client_id, price=price, key=key, fingerprint=fingerprint)
            return
        result = charge(client_id, price=price, key=key, fingerprint=fingerprint)
        assert not result.replayed and result.charged == price
        self.balance[client_id] -= price
        assert result.balance == self.balance[client_id]
        if key is not None:
            self.keys[(client_id, key)] = (fingerprint, price, result.ledger_entry_id)

    @precondition(lambda self: any(self.balance.values()))
    @rule(who=st.integers(0, 1))
    def spend_everything(self, who: int) -> None:
        # A debit of exactly the balance succeeds and leaves zero; one more token is refused.
        client_id = self.clients[who]
        if self.balance[client_id] == 0:
            return
        charge(client_id, price=self.balance[client_id])
        self.balance[client_id] = 0
        with pytest.raises(InsufficientTokens):
            charge(client_id, price=1)

    @invariant()
    def balance_is_the_ledger_and_never_negative(self) -> None:
        # One query for both accounts: the balance and the sum of its ledger, side by side.
        rows = TokenAccount.objects.filter(client_id__in=self.clients).annotate(
            ledger=Coalesce(Sum("entries__amount"), 0)
        )
        found = {row.client_id: (row.balance, row.ledger) for row in rows}
        for client_id in self.clients:
            balance, ledger = found[client_id]
            assert balance == ledger == self.balance[client_id]
            assert balance >= 0


def test_billing_state_machine() -> None:
    # The default charging path (PostgreSQL's single statement there); test_services.py runs every
    # rule's operation on both paths.
    run_state_machine_as_test(
        BillingMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
