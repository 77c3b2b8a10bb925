"""Deactivating, deleting or revoking a client stops its API keys and its JWTs at once (finding 4:
an access token outlived its client by up to 5 minutes), on every server, without a query per
request: the client's credentials version is in the cache and in the token."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiKey, Client
from accounts.roles import BILLING_TOPUP, INGEST
from accounts.services import api_key_create, api_key_revoke, client_credentials_revoke, client_deactivate

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN, REFRESH = "/api/auth/token", "/api/auth/token/refresh"
RECORD = {
    "ts": "1530228282",
    "sender": "revocation-test",
    "message": {"a": 1},
    "sent-from-ip": "1.2.3.4",
    "priority": 2,
}


def _pair(api_client, key: str) -> dict[str, str]:
    response = api_client.post(TOKEN, {"api_key": key}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _me(api_client, access: str) -> int:
    return api_client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def _refused(api_client, access: str) -> None:
    response = api_client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "token_revoked"


def test_deactivated_client_jwt_and_key_refused_at_once(api_client, make_client):
    client, key = make_client(roles=[INGEST, BILLING_TOPUP])
    other, _ = make_client()
    pair = _pair(api_client, key)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {pair['access']}"}
    assert _me(api_client, pair["access"]) == 200
    assert api_client.post("/api/ingest", RECORD, format="json", **bearer).status_code == 202

    client_deactivate(client=client)

    _refused(api_client, pair["access"])
    # What the finding did: a top-up of another client and an ingest, both with the old token.
    topup = {"client": other.pk, "tokens": 5, "purchase_id": "PO-revoked"}
    assert api_client.post("/api/billing/topups", topup, format="json", **bearer).status_code == 401
    assert api_client.post("/api/ingest", RECORD, format="json", **bearer).status_code == 401
    assert api_client.get("/api/me", HTTP_X_TOKEN=key).status_code == 401
    assert api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code == 401


def test_manage_deactivate_client_stops_its_tokens(api_client, make_client):
    client, key = make_client()
    pair = _pair(api_client, key)
    call_command("deactivate_client", str(client.pk))
    _refused(api_client, pair["access"])
    assert Client.objects.get(pk=client.pk).is_active is False


def test_deactivated_in_the_admin_stops_its_tokens(make_client, admin_client):
    from rest_framework.test import APIClient

    client, key = make_client()
    api = APIClient()
    pair = _pair(api, key)
    response = admin_client.post(
        f"/admin/accounts/client/{client.pk}/change/",
        {
            "name": client.name,
            "subscriptions-TOTAL_FORMS": "0",
            "subscriptions-INITIAL_FORMS": "0",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },  # is_active unticked
    )
    assert response.status_code == 302, response.content[:2000]
    _refused(api, pair["access"])


def test_deleted_client_jwt_refused(api_client, make_client):
    client, key = make_client()
    pair = _pair(api_client, key)
    from billing.models import TokenAccount

    TokenAccount.objects.filter(client=client).delete()  # empty, no ledger: the only thing protecting it
    client.user.delete()  # cascades to the client and its keys
    _refused(api_client, pair["access"])
    assert api_client.get("/api/me", HTTP_X_TOKEN=key).status_code == 401


def test_revoked_key_takes_its_clients_jwts_with_it_but_not_other_keys(api_client, make_client):
    client, key = make_client()
    second, second_key = api_key_create(client=client)
    pair = _pair(api_client, key)
    api_key_revoke(api_key=ApiKey.objects.get(client=client, pk__lt=second.pk))
    _refused(api_client, pair["access"])
    assert api_client.get("/api/me", HTTP_X_TOKEN=second_key).status_code == 200
    fresh = _pair(api_client, second_key)  # new tokens carry the new version
    assert _me(api_client, fresh["access"]) == 200


def test_a_jwt_call_makes_no_query(api_client, make_client):
    _, key = make_client()
    access = _pair(api_client, key)["access"]
    assert _me(api_client, access) == 200  # the version is cached from here on
    with CaptureQueriesContext(connection) as queries:
        assert _me(api_client, access) == 200
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_revocation_reaches_a_server_whose_cache_had_the_old_version(api_client, make_client):
    # Another server's view: the version was cached before the revocation; the revocation
    # publishes the new one to the shared cache, so no server keeps accepting the old tokens.
    client, key = make_client()
    access = _pair(api_client, key)["access"]
    assert _me(api_client, access) == 200
    client_credentials_revoke(client_id=client.pk)
    _refused(api_client, access)
    assert _me(api_client, _pair(api_client, key)["access"]) == 200


def test_refresh_tokens_are_stored_only_as_digests(api_client, make_client):
    # Finding 5: the blacklist's outstanding-token table held every refresh token in clear; one
    # read of a dump minted a new pair. Now: only SHA-256 digests, and none of them is a token.
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    _, key = make_client()
    pair = _pair(api_client, key)
    rotated = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json").json()
    stored = list(OutstandingToken.objects.values_list("token", flat=True))
    assert stored and all(token.startswith("sha256:") and len(token) == 7 + 64 for token in stored)
    for token in (pair["refresh"], rotated["refresh"]):
        assert not any(token in value or value in token for value in stored)
    for value in stored:  # what a dump reader has: useless as a refresh token
        assert api_client.post(REFRESH, {"refresh": value}, format="json").status_code == 401
    # The rotation still works on digests: the new refresh token rotates, the old one is refused.
    assert api_client.post(REFRESH, {"refresh": rotated["refresh"]}, format="json").status_code == 200
    assert api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code == 401
