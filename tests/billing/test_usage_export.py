"""GET /api/usage/export: the caller's paid calls and ledger entries between two days, streamed as
CSV or JSON; staff may name a client; bad dates and formats are a 400."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from billing.models import LedgerEntry
from billing.services import account_credit
from tests.billing.helpers import charge

pytestmark = pytest.mark.django_db


def _body(response) -> str:
    assert response.streaming, "the export must be streamed"
    return b"".join(response.streaming_content).decode()


def _csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_body(response))))


def _dated(client_id: int, when: datetime) -> None:
    """A credit written at ``when`` (the ledger refuses updates, so it is created there)."""
    balance = LedgerEntry.objects.filter(account_id=client_id).order_by("-id").values_list("balance_after", flat=True)
    before = balance.first() or 0
    from billing.models import TokenAccount

    TokenAccount.objects.filter(client_id=client_id).update(balance=before + 5)
    LedgerEntry.objects.create(
        account_id=client_id, kind="credit", amount=5, balance_after=before + 5, reason="dated", created_at=when
    )


def test_csv_has_every_paid_call_and_credit_oldest_first(api_client, make_client):
    client, key = make_client(tokens=10)
    charge(client.pk)
    charge(client.pk, key="idem-1")
    api_client.credentials(HTTP_X_TOKEN=key)
    response = api_client.get("/api/usage/export")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert [(r["type"], r["amount"], r["balance_after"]) for r in rows] == [
        ("credit", "10", "10"),
        ("paid_call", "-1", "9"),
        ("paid_call", "-1", "8"),
    ]
    assert rows[2]["idempotency_key"] == "idem-1"
    assert rows[1]["request"].startswith("GET /api/memes")


def test_json_is_one_document(api_client, make_client):
    client, key = make_client(tokens=3)
    charge(client.pk)
    api_client.credentials(HTTP_X_TOKEN=key)
    response = api_client.get("/api/usage/export", {"format": "json"})
    assert response["Content-Type"] == "application/json"
    document = json.loads(_body(response))
    assert document["client_id"] == client.pk and document["from"] is None
    assert [e["type"] for e in document["entries"]] == ["credit", "paid_call"]
    assert document["entries"][1]["amount"] == -1


def test_the_days_are_inclusive_and_in_utc(api_client, make_client):
    client, key = make_client()
    for day in (1, 2, 3, 4):
        _dated(client.pk, datetime(2026, 3, day, 23, 59, 59, tzinfo=UTC))
    _dated(client.pk, datetime(2026, 3, 5, 0, 0, 0, tzinfo=UTC))
    api_client.credentials(HTTP_X_TOKEN=key)
    rows = _csv(api_client.get("/api/usage/export", {"from": "2026-03-02", "to": "2026-03-04"}))
    assert [r["at"][:10] for r in rows] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert _csv(api_client.get("/api/usage/export", {"from": "2026-03-05"}))[0]["at"].startswith("2026-03-05T00:00:00")


def test_only_the_callers_own_and_staff_may_name_a_client(api_client, make_client):
    alice, _ = make_client(tokens=2)
    _, bob_key = make_client(tokens=7)
    _, staff_key = make_client(staff=True)
    api_client.credentials(HTTP_X_TOKEN=bob_key)
    assert [r["amount"] for r in _csv(api_client.get("/api/usage/export"))] == ["7"]
    response = api_client.get("/api/usage/export", {"client": alice.pk})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    api_client.credentials(HTTP_X_TOKEN=staff_key)
    assert [r["amount"] for r in _csv(api_client.get("/api/usage/export", {"client": alice.pk}))] == ["2"]
    assert api_client.get("/api/usage/export", {"client": 999_999}).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-13-01"},
        {"from": "yesterday"},
        {"to": "2026-02-30"},
        {"from": "2026-03-01T00:00:00Z"},
        {"from": "2026-03-05", "to": "2026-03-01"},
        {"format": "xlsx"},
        {"client": "me"},
    ],
)
def test_bad_parameters_are_a_json_400(api_client, make_client, params):
    _, key = make_client()
    api_client.credentials(HTTP_X_TOKEN=key)
    response = api_client.get("/api/usage/export", params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert set(response.json()["error"]["details"]) & {"from", "to", "format", "client"}


def test_a_formula_in_what_the_client_sent_is_defused(api_client, make_client):
    client, key = make_client()
    account_credit(client_id=client.pk, amount=1, reason='=HYPERLINK("http://evil")')
    api_client.credentials(HTTP_X_TOKEN=key)
    assert _csv(api_client.get("/api/usage/export"))[0]["reason"] == '\'=HYPERLINK("http://evil")'


def test_without_credentials_it_is_a_401(api_client):
    assert api_client.get("/api/usage/export").status_code == 401


def test_the_query_count_does_not_grow_with_the_history(api_client, make_client, django_assert_max_num_queries):
    client, key = make_client(tokens=5000)
    for _ in range(3000):
        charge(client.pk)
    api_client.credentials(HTTP_X_TOKEN=key)
    with django_assert_max_num_queries(6):  # credentials + the chunked read (server-side cursor: DECLARE, FETCHes)
        response = api_client.get("/api/usage/export", {"to": (timezone.now() + timedelta(days=1)).date().isoformat()})
        assert len(_csv(response)) == 3001
