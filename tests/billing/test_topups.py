"""POST /api/billing/topups: the purchasing team credits purchases, each exactly once."""

from __future__ import annotations

import pytest

from accounts.roles import BILLING_TOPUP
from billing.models import LedgerEntry
from tests.billing.helpers import assert_ledger_consistent, balance

pytestmark = pytest.mark.django_db
URL = "/api/billing/topups"


@pytest.fixture
def purchasing(api_client, make_client):
    """An API client holding billing.topup."""
    _, key = make_client("purchasing", roles=[BILLING_TOPUP])
    api_client.credentials(HTTP_X_TOKEN=key)
    return api_client


def test_top_up_credits_the_client_and_answers_201(purchasing, make_client):
    customer, _ = make_client(tokens=5)
    response = purchasing.post(URL, {"client": customer.pk, "tokens": 100, "purchase_id": "po-1"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["client"] == customer.pk and body["tokens"] == 100 and body["purchase_id"] == "po-1"
    assert body["balance"] == 105 and body["replayed"] is False
    entry = LedgerEntry.objects.get(pk=body["ledger_entry"])
    assert (entry.kind, entry.amount, entry.purchase_id) == ("credit", 100, "po-1")
    assert entry.actor.startswith("client:")
    assert_ledger_consistent()


def test_replayed_purchase_returns_the_first_result_and_credits_nothing(purchasing, make_client):
    customer, _ = make_client()
    first = purchasing.post(URL, {"client": customer.pk, "tokens": 40, "purchase_id": "po-2"}, format="json")
    purchasing.post(URL, {"client": customer.pk, "tokens": 1, "purchase_id": "po-other"}, format="json")
    again = purchasing.post(URL, {"client": customer.pk, "tokens": 40, "purchase_id": "po-2"}, format="json")
    assert again.status_code == 200
    assert again.json() == {**first.json(), "replayed": True}  # balance as of the first credit: 40
    assert balance(customer.pk) == 41


@pytest.mark.parametrize("change", [{"tokens": 41}, {"client": "other"}])
def test_same_purchase_with_another_amount_or_client_is_a_409(purchasing, make_client, change):
    customer, _ = make_client()
    other, _ = make_client()
    purchasing.post(URL, {"client": customer.pk, "tokens": 40, "purchase_id": "po-3"}, format="json")
    payload = {"client": customer.pk, "tokens": 40, "purchase_id": "po-3", **change}
    if payload["client"] == "other":
        payload["client"] = other.pk
    response = purchasing.post(URL, payload, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "purchase_conflict"
    assert balance(customer.pk) == 40 and balance(other.pk) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tokens", 0),
        ("tokens", -5),
        ("tokens", 1.5),
        ("tokens", 5.0),
        ("tokens", "5"),
        ("tokens", True),
        ("tokens", None),
        ("tokens", 10_000_001),
        ("tokens", 10**30),
        ("client", "1"),
        ("client", 0),
        ("client", True),
        ("purchase_id", ""),
        ("purchase_id", "has space"),
        ("purchase_id", "x" * 101),
        ("purchase_id", 12),
    ],
)
def test_bad_input_is_a_400_naming_the_field(purchasing, make_client, field, value):
    customer, _ = make_client()
    payload = {"client": customer.pk, "tokens": 10, "purchase_id": "po-bad", field: value}
    response = purchasing.post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]
    assert balance(customer.pk) == 0


@pytest.mark.parametrize("missing", ["client", "tokens", "purchase_id"])
def test_missing_field_is_a_400(purchasing, make_client, missing):
    customer, _ = make_client()
    payload = {"client": customer.pk, "tokens": 10, "purchase_id": "po-x"}
    del payload[missing]
    response = purchasing.post(URL, payload, format="json")
    assert response.status_code == 400 and missing in response.json()["error"]["details"]


def test_not_json_is_a_400_envelope(purchasing):
    response = purchasing.post(URL, "tokens=5", content_type="application/json")
    assert response.status_code == 400 and "error" in response.json()


def test_largest_allowed_top_up_is_accepted(purchasing, make_client):
    customer, _ = make_client()
    response = purchasing.post(URL, {"client": customer.pk, "tokens": 10_000_000, "purchase_id": "big"}, format="json")
    assert response.status_code == 201
    assert balance(customer.pk) == 10_000_000


def test_unknown_client_is_a_404(purchasing):
    response = purchasing.post(URL, {"client": 999_999, "tokens": 5, "purchase_id": "po-404"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not LedgerEntry.objects.filter(purchase_id="po-404").exists()


def test_client_without_the_role_is_refused_with_403(api_client, make_client):
    customer, key = make_client(tokens=1)
    api_client.credentials(HTTP_X_TOKEN=key)
    response = api_client.post(URL, {"client": customer.pk, "tokens": 1000, "purchase_id": "self"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert balance(customer.pk) == 1


def test_role_in_a_jwt_is_enough(api_client, make_client):
    customer, _ = make_client()
    _, key = make_client(roles=[BILLING_TOPUP])
    access = api_client.post("/api/auth/token", {"api_key": key}, format="json").json()["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = api_client.post(URL, {"client": customer.pk, "tokens": 3, "purchase_id": "jwt-1"}, format="json")
    assert response.status_code == 201


def test_anonymous_top_up_is_a_401(api_client, make_client):
    customer, _ = make_client()
    response = api_client.post(URL, {"client": customer.pk, "tokens": 3, "purchase_id": "anon"}, format="json")
    assert response.status_code == 401
    assert balance(customer.pk) == 0


def test_top_ups_are_counted_on_the_metrics_by_outcome_with_their_tokens(purchasing, make_client):
    from tests.metrics_scrape import scrape, value

    customer, _ = make_client()
    before = scrape()
    for _ in range(2):  # the second is a replay: counted as such, no tokens
        purchasing.post(URL, {"client": customer.pk, "tokens": 70, "purchase_id": "po-m1"}, format="json")
    purchasing.post(URL, {"client": customer.pk, "tokens": 5, "purchase_id": "po-m2"}, format="json")
    after = scrape()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("maas_topups_total", outcome="credited") == 2
    assert delta("maas_topups_total", outcome="replayed") == 1
    assert delta("maas_topup_tokens_total") == 75
