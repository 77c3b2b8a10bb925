"""GET /api/balance and /api/usage: a client sees its own figures, staff may look at anyone's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import LedgerEntry
from tests.billing.helpers import charge

pytestmark = pytest.mark.django_db


def _get(api_client, key, url):
    return api_client.get(url, HTTP_X_TOKEN=key)


def test_balance_is_the_callers_with_the_prices(api_client, make_client):
    client, key = make_client(tokens=42)
    response = _get(api_client, key, "/api/balance")
    assert response.status_code == 200
    assert response.json() == {"client_id": client.pk, "balance": 42, "prices": {"text": 1, "image": 1, "ai": 1}}


def test_balance_needs_credentials(api_client):
    response = api_client.get("/api/balance")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_usage_counts_calls_and_tokens_per_day_and_in_total(api_client, make_client):
    client, key = make_client(tokens=20)
    for price in (1, 2, 3):
        charge(client.pk, price=price)
    response = _get(api_client, key, "/api/usage")
    assert response.status_code == 200
    body = response.json()
    assert body["client_id"] == client.pk and body["balance"] == 14
    assert body["total"] == {"calls": 3, "tokens_spent": 6}
    assert body["per_day"] == [{"date": timezone.now().date().isoformat(), "calls": 3, "tokens_spent": 6}]
    assert [call["charged"] for call in body["recent_calls"]] == [3, 2, 1]  # newest first
    assert body["recent_calls"][0]["request"].startswith("GET /api/memes?query=cat")


def test_usage_splits_days_and_limits_recent_calls(api_client, make_client):
    client, key = make_client(tokens=20)
    for _ in range(3):
        charge(client.pk)
    # An older call, written as it would have been two days ago.
    LedgerEntry.objects.create(
        account_id=client.pk, kind="debit", amount=-1, balance_after=16, created_at=timezone.now() - timedelta(days=2)
    )
    body = _get(api_client, key, "/api/usage?recent=2&days=7").json()
    assert [day["calls"] for day in body["per_day"]] == [3, 1]
    assert len(body["recent_calls"]) == 2
    assert [day["calls"] for day in _get(api_client, key, "/api/usage?days=1").json()["per_day"]] == [3]


def test_a_client_never_sees_another_clients_usage_or_balance(api_client, make_client):
    alice, _ = make_client(tokens=10)
    bob, bob_key = make_client(tokens=10)
    charge(alice.pk, price=4)
    bob_usage = _get(api_client, bob_key, "/api/usage").json()
    assert bob_usage["total"] == {"calls": 0, "tokens_spent": 0} and bob_usage["recent_calls"] == []
    for url in (f"/api/usage?client={alice.pk}", f"/api/balance?client={alice.pk}", "/api/usage?client=999999"):
        response = _get(api_client, bob_key, url)
        assert response.status_code == 403, url
        assert response.json()["error"]["code"] == "permission_denied"
    assert _get(api_client, bob_key, f"/api/usage?client={bob.pk}").status_code == 200  # naming itself is fine


def test_staff_may_read_any_clients_usage_and_balance(api_client, make_client):
    alice, _ = make_client(tokens=10)
    _, staff_key = make_client(staff=True)
    charge(alice.pk, price=4)
    usage = _get(api_client, staff_key, f"/api/usage?client={alice.pk}")
    assert usage.status_code == 200 and usage.json()["total"] == {"calls": 1, "tokens_spent": 4}
    assert _get(api_client, staff_key, f"/api/balance?client={alice.pk}").json()["balance"] == 6
    missing = _get(api_client, staff_key, "/api/usage?client=999999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", ["client=abc", "client=-1", "days=0", "days=9999", "recent=-1", "recent=x"])
def test_bad_usage_parameters_are_a_400(api_client, make_client, query):
    _, key = make_client()
    response = _get(api_client, key, f"/api/usage?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_balance_costs_one_query_with_warm_credentials(api_client, make_client, django_assert_num_queries):
    _, key = make_client(tokens=3)
    assert _get(api_client, key, "/api/balance").status_code == 200  # warms the credential cache
    with django_assert_num_queries(1):
        assert _get(api_client, key, "/api/balance").status_code == 200


def test_usage_query_count_does_not_grow_with_history(api_client, make_client, django_assert_num_queries):
    client, key = make_client(tokens=50)
    _get(api_client, key, "/api/usage")
    for _ in range(30):
        charge(client.pk)
    with django_assert_num_queries(3):
        assert _get(api_client, key, "/api/usage").json()["total"]["calls"] == 30


def test_schema_documents_the_billing_endpoints(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    topups = schema["paths"]["/api/billing/topups"]["post"]["responses"]
    assert {"200", "201", "400", "403", "404", "409"} <= set(topups)
    assert "/api/balance" in schema["paths"] and "/api/usage" in schema["paths"]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/balance", "client"),
        ("/api/usage", "client"),
        ("/api/usage", "days"),
        ("/api/usage", "recent"),
        ("/api/usage/export", "from"),
        ("/api/usage/export", "to"),
        ("/api/usage/export", "format"),
    ],
)
def test_an_empty_parameter_is_a_400_not_its_default(api_client, make_client, url, name):
    # As on the meme calls: `to=` is a malformed day, not "no day" (the schema fuzz found the export
    # answering 200 for it, like DRF's form-style reading of a QueryDict).
    _, key = make_client(tokens=1)
    response = api_client.get(f"{url}?{name}=", HTTP_X_TOKEN=key)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and list(error["details"]) == [name]
