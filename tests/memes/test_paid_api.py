"""GET /api/memes as clients pay for it: charged exactly what is served, never for failures, once per
Idempotency-Key; premium clients get AI memes, others the catalogue, at no extra query cost."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.roles import PREMIUM_AI
from billing.models import LedgerEntry
from billing.selectors import account_balance
from memes.models import Meme

pytestmark = pytest.mark.django_db
URL = "/api/memes"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def caller(make_client):
    """A factory of authenticated API clients: ``caller(tokens=..., premium=...) -> (client, api)``."""

    def _caller(*, tokens: int = 10, premium: bool = False):
        client, key = make_client(roles=[PREMIUM_AI] if premium else [], tokens=tokens)
        api = APIClient()
        api.credentials(HTTP_X_TOKEN=key)
        return client, api

    return _caller


def test_a_served_meme_costs_its_price_and_says_so(catalogue, caller):
    client, api = caller(tokens=10)
    response = api.get(URL, {"query": "paranoid"})
    assert response.status_code == 200
    assert response.json()["billing"] == {"charged": 1, "price": 1, "balance": 9, "replayed": False}
    assert response["X-Tokens-Balance"] == "9"
    assert account_balance(client_id=client.pk) == 9
    debit = LedgerEntry.objects.get(account_id=client.pk, kind="debit")
    assert debit.amount == -1 and "query=paranoid" in debit.request_ref


def test_several_memes_cost_the_sum_of_their_prices(catalogue, caller, settings):
    settings.BILLING = {**settings.BILLING, "PRICES": {"text": 2, "image": 3, "ai": 5}}
    client, api = caller(tokens=100)
    body = api.get(URL, {"query": "pizza", "limit": "3"}).json()
    expected = sum({"text": 2, "image": 3}[m["kind"]] for m in body["memes"])
    assert body["billing"]["charged"] == expected
    assert account_balance(client_id=client.pk) == 100 - expected


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"query": "xylophone quokka"}, 404),  # no match
        ({"query": "pizza", "lat": "91", "lon": "0"}, 400),  # bad input
        ({"query": ""}, 400),
        ({"query": "pizza", "format": "gif"}, 400),
    ],
)
def test_failed_calls_charge_nothing(catalogue, caller, params, status):
    client, api = caller(tokens=5)
    response = api.get(URL, params)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert account_balance(client_id=client.pk) == 5
    assert not LedgerEntry.objects.filter(account_id=client.pk, kind="debit").exists()


def test_not_enough_tokens_is_402_with_balance_and_price(catalogue, caller, settings):
    settings.BILLING = {**settings.BILLING, "PRICES": {"text": 1, "image": 3, "ai": 1}}
    client, api = caller(tokens=2)
    response = api.get(URL, {"query": "paranoid"})  # an image meme: 3 tokens
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_tokens"
    assert response.json()["error"]["details"] == {"balance": 2, "price": 3}
    assert account_balance(client_id=client.pk) == 2


def test_unauthenticated_calls_are_401(catalogue):
    response = APIClient().get(URL, {"query": "pizza"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    bad = APIClient().get(URL, {"query": "pizza"}, HTTP_X_TOKEN="maas_nope")
    assert bad.status_code == 401


def test_a_retried_request_is_served_the_same_meme_and_charged_once(catalogue, caller):
    client, api = caller(tokens=10)
    first = api.get(URL, {"query": "pizza"}, HTTP_IDEMPOTENCY_KEY="retry-1")
    again = api.get(URL, {"query": "pizza"}, HTTP_IDEMPOTENCY_KEY="retry-1")
    assert first.status_code == again.status_code == 200
    assert again.json()["memes"] == first.json()["memes"]
    assert again.json()["billing"]["charged"] == 0 and again.json()["billing"]["replayed"] is True
    assert account_balance(client_id=client.pk) == 9

    other = api.get(URL, {"query": "grumpy"}, HTTP_IDEMPOTENCY_KEY="retry-1")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert account_balance(client_id=client.pk) == 9


def test_premium_clients_get_new_ai_memes_and_others_the_catalogue(catalogue, caller):
    _, normal = caller()
    premium_client, premium = caller(premium=True)

    catalogue_meme = normal.get(URL, {"query": "pizza"}).json()["memes"][0]
    assert catalogue_meme["kind"] in {"text", "image"} and catalogue_meme["generator"] is None

    ai_meme = premium.get(URL, {"query": "pizza", "lat": "48.8566", "lon": "2.3522"}).json()["memes"][0]
    assert ai_meme["kind"] == "ai" and ai_meme["generator"] == "local"
    stored = Meme.objects.get(pk=ai_meme["id"])
    assert stored.owner_id == premium_client.pk and stored.kind == "ai"
    assert not Meme.objects.filter(kind__in=["text", "image"], text__iexact=stored.text).exists()

    assert premium.get(URL, {"query": "pizza", "ai": "false"}).json()["memes"][0]["kind"] != "ai"


def test_a_normal_client_cannot_force_ai(catalogue, caller):
    client, api = caller(tokens=3)
    response = api.get(URL, {"query": "pizza", "ai": "true"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "premium_required"
    assert account_balance(client_id=client.pk) == 3


def test_an_ai_meme_that_cannot_be_paid_is_not_stored(catalogue, caller):
    _, premium = caller(tokens=0, premium=True)
    response = premium.get(URL, {"query": "pizza"})
    assert response.status_code == 402
    assert not Meme.objects.filter(kind="ai").exists()


def _queries_of_one_call(api: APIClient, params: dict[str, str]) -> int:
    """Statements one warm call sends, leaving out the savepoints that the test's own transaction
    wraps around a charge (in production the charge runs in autocommit)."""
    api.get(URL, params)  # warm: credentials cached, key use stamped, search index built, place data loaded
    with CaptureQueriesContext(connection) as queries:
        assert api.get(URL, params).status_code == 200
    return sum(1 for query in queries.captured_queries if "SAVEPOINT" not in query["sql"])


def test_checking_premium_costs_no_query(catalogue, caller):
    _, normal = caller(tokens=100)
    _, premium = caller(tokens=100, premium=True)
    params = {"query": "pizza", "lat": "48.8566", "lon": "2.3522", "ai": "false"}
    normal_queries = _queries_of_one_call(normal, params)
    assert normal_queries == _queries_of_one_call(premium, params)
    # Authentication from the cache, search from memory: only the charge touches the database, in
    # one statement on PostgreSQL; on SQLite, the locking read, the debit and the ledger entry.
    assert normal_queries == (1 if django_settings.IS_POSTGRES else 3)


def test_an_image_costs_the_image_price_and_is_a_png(catalogue, caller, settings):
    settings.BILLING = {**settings.BILLING, "PRICES": {"text": 1, "image": 4, "ai": 2}}
    client, api = caller(tokens=20)
    response = api.get(URL, {"query": "pizza", "format": "image"})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(PNG_SIGNATURE)
    assert response["X-Tokens-Charged"] == "4"
    assert account_balance(client_id=client.pk) == 16

    by_accept = api.get(URL, {"query": "pizza"}, HTTP_ACCEPT="image/png")
    assert by_accept["Content-Type"] == "image/png"
    assert by_accept.content == response.content  # the same meme renders the same picture


def test_errors_stay_json_when_a_png_was_asked_for(catalogue, caller):
    _, api = caller()
    response = api.get(URL, {"query": "xylophone quokka"}, HTTP_ACCEPT="image/png")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "no_match"


def test_every_meme_has_a_stable_png_url(catalogue, caller):
    _, api = caller(tokens=10)
    meme = api.get(URL, {"query": "paranoid"}).json()["memes"][0]
    first = api.get(meme["png_url"])
    second = api.get(meme["png_url"])
    assert first.status_code == 200 and first["Content-Type"] == "image/png"
    assert first.content == second.content


def test_an_ai_meme_can_be_fetched_again_only_by_its_client(catalogue, caller):
    _, premium = caller(premium=True)
    _, other = caller()
    meme = premium.get(URL, {"query": "pizza"}).json()["memes"][0]

    again = premium.get(f"{URL}/{meme['id']}")
    assert again.status_code == 200
    assert again.json()["memes"][0]["text"] == meme["text"]
    assert premium.get(meme["png_url"]).status_code == 200

    for url in (f"{URL}/{meme['id']}", meme["png_url"]):
        response = other.get(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_unsafe_or_unknown_memes_are_not_served_by_id(catalogue, caller):
    _, api = caller()
    unsafe = Meme.objects.filter(is_safe=False).first()
    assert unsafe is not None
    assert api.get(f"{URL}/{unsafe.pk}").status_code == 404
    assert api.get(f"{URL}/999999.png").status_code == 404


def test_a_picture_of_an_ai_meme_costs_at_least_the_ai_price(catalogue, caller, settings):
    settings.BILLING = {**settings.BILLING, "PRICES": {"text": 1, "image": 2, "ai": 5}}
    client, premium = caller(tokens=100, premium=True)
    meme = premium.get(URL, {"query": "pizza"}).json()["memes"][0]  # 5: the AI price
    assert premium.get(meme["png_url"])["X-Tokens-Charged"] == "5"  # not the cheaper image price
    assert premium.get(URL, {"query": "pizza", "format": "image"})["X-Tokens-Charged"] == "5"
    assert account_balance(client_id=client.pk) == 85
