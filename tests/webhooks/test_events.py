"""What turns into a webhook event: a threshold crossed (once per crossing), the balance reaching 0,
a credit, a key created or revoked; and nothing for a client with no webhook."""

from __future__ import annotations

import pytest

from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke
from billing.services import account_credit, topup_create
from tests.billing.helpers import charge
from webhooks.models import Delivery, Event
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db

ALL_EVENTS = ["balance.below_threshold", "balance.depleted", "topup.credited", "key.created", "key.revoked"]


def _events(client_id: int) -> list[tuple[str, dict]]:
    return [(event.type, event.data) for event in Event.objects.filter(client_id=client_id).order_by("created_at")]


def test_a_threshold_fires_once_per_crossing_and_depletion_once(
    make_client, charge_path, django_capture_on_commit_callbacks
):
    client, _ = make_client(tokens=7)
    webhook_create(client_id=client.pk, url="http://127.0.0.1:9/hook", events=ALL_EVENTS, threshold=5)
    Event.objects.all().delete()  # the credit and key of make_client came before the webhook anyway
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(7):  # 7 → 0: crosses 5 on the 6 → 4 debit, reaches 0 on the last
            charge(client.pk)
    assert [(kind, data.get("balance")) for kind, data in _events(client.pk)] == [
        ("balance.below_threshold", 4),
        ("balance.depleted", 0),
    ]
    crossed = _events(client.pk)[0][1]
    assert crossed["threshold"] == 5 and crossed["balance_before"] == 5 and crossed["client_id"] == client.pk

    # A credit lifts it above again: the next crossing is a new event.
    with django_capture_on_commit_callbacks(execute=True):
        account_credit(client_id=client.pk, amount=10, reason="top-up")
        for _ in range(6):  # 10 → 4
            charge(client.pk)
    kinds = [kind for kind, _ in _events(client.pk)]
    assert kinds == ["balance.below_threshold", "balance.depleted", "topup.credited", "balance.below_threshold"]


def test_a_debit_larger_than_one_token_can_cross_several_thresholds_at_once(
    make_client, charge_path, django_capture_on_commit_callbacks
):
    client, _ = make_client(tokens=100)
    for threshold in (90, 50, 20):
        webhook_create(client_id=client.pk, url="http://127.0.0.1:9/hook", events=ALL_EVENTS, threshold=threshold)
    with django_capture_on_commit_callbacks(execute=True):
        charge(client.pk, price=60)  # 100 → 40: crosses 90 and 50, not 20
    crossed = sorted(data["threshold"] for kind, data in _events(client.pk) if kind == "balance.below_threshold")
    assert crossed == [50, 90]
    # Each crossing goes to the webhook with that threshold only.
    assert sorted(Delivery.objects.values_list("webhook__threshold", flat=True)) == [50, 90]


def test_a_topup_and_key_changes_are_events(make_client, django_capture_on_commit_callbacks):
    client, _ = make_client()
    webhook_create(client_id=client.pk, url="http://127.0.0.1:9/hook", events=ALL_EVENTS, threshold=1)
    with django_capture_on_commit_callbacks(execute=True):
        topup_create(client_id=client.pk, tokens=500, purchase_id="PO-1")
        topup_create(client_id=client.pk, tokens=500, purchase_id="PO-1")  # a replay credits nothing: no event
        api_key, _ = api_key_create(client=client, name="ci")
        api_key_revoke(api_key=api_key)
        api_key_revoke(api_key=ApiKey.objects.get(pk=api_key.pk))  # already revoked: no second event
    events = _events(client.pk)
    assert [kind for kind, _ in events] == ["topup.credited", "key.created", "key.revoked"]
    assert events[0][1]["purchase_id"] == "PO-1" and events[0][1]["amount"] == 500
    assert events[1][1]["prefix"] == api_key.prefix and events[2][1]["key_id"] == api_key.pk


def test_only_subscribed_events_are_kept(make_client, django_capture_on_commit_callbacks):
    client, _ = make_client(tokens=3)
    webhook_create(client_id=client.pk, url="http://127.0.0.1:9/hook", events=["key.revoked"])
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            charge(client.pk)
        account_credit(client_id=client.pk, amount=1, reason="x")
        api_key_create(client=client)
    assert not Event.objects.exists()


def test_a_rolled_back_debit_tells_nothing(make_client, charge_path, django_capture_on_commit_callbacks):
    from django.db import transaction

    client, _ = make_client(tokens=5)
    webhook_create(client_id=client.pk, url="http://127.0.0.1:9/hook", events=ALL_EVENTS, threshold=5)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        charge(client.pk)
        raise RuntimeError("the caller failed after the debit")
    assert not Event.objects.exists()


def test_no_webhook_no_query_beyond_the_debit(make_client, charge_path, django_assert_num_queries):
    """The paid call's hot path: a client without webhooks pays exactly the debit's queries."""
    client, _ = make_client(tokens=10)
    # Inside the test's transaction: SAVEPOINT, the single statement, RELEASE; or SAVEPOINT, lock, update,
    # ledger insert, RELEASE on the portable path. The same counts as before webhooks existed.
    from django.db import connection

    single_statement = connection.vendor == "postgresql" and charge_path == "default"
    expected = 3 if single_statement else 5
    charge(client.pk)  # warm
    with django_assert_num_queries(expected):
        charge(client.pk)
