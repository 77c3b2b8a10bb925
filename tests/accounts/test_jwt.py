"""JWT: obtain by API key or by username/password, refresh with rotation and blacklisting."""

from __future__ import annotations

import pytest

from accounts.roles import BILLING_TOPUP, INGEST
from accounts.services import client_create, client_roles_set

pytestmark = pytest.mark.django_db
TOKEN, REFRESH = "/api/auth/token", "/api/auth/token/refresh"


def _bearer(access: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}


def test_api_key_is_exchanged_for_a_token_pair_carrying_client_and_roles(api_client, make_client):
    client, key = make_client(roles=[INGEST])
    response = api_client.post(TOKEN, {"api_key": key}, format="json")
    assert response.status_code == 200
    pair = response.json()
    assert pair["token_type"] == "Bearer" and pair["expires_in"] > 0 and pair["refresh"]
    me = api_client.get("/api/me", **_bearer(pair["access"])).json()
    assert me == {"client_id": client.pk, "roles": [INGEST], "authenticated_via": "jwt"}


def test_username_and_password_are_exchanged_too(api_client):
    client = client_create(name="with-password", password="s3cret-enough-pass")
    response = api_client.post(TOKEN, {"username": "with-password", "password": "s3cret-enough-pass"}, format="json")
    assert response.status_code == 200
    assert api_client.get("/api/me", **_bearer(response.json()["access"])).json()["client_id"] == client.pk


@pytest.mark.parametrize(
    "payload",
    [
        {"api_key": "maas_abcdefghij_" + "A" * 43},
        {"username": "with-password", "password": "wrong"},
        {"username": "nobody", "password": "whatever"},
    ],
)
def test_bad_credentials_are_a_401(api_client, payload):
    client_create(name="with-password", password="s3cret-enough-pass")
    response = api_client.post(TOKEN, payload, format="json")
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "details", "request_id"}


@pytest.mark.parametrize("payload", [{}, {"api_key": "k", "username": "u", "password": "p"}, {"username": "u"}])
def test_neither_or_both_kinds_of_credentials_are_a_400(api_client, payload):
    response = api_client.post(TOKEN, payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_refresh_rotates_and_the_old_refresh_token_is_refused(api_client, make_client):
    _, key = make_client()
    pair = api_client.post(TOKEN, {"api_key": key}, format="json").json()
    rotated = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert rotated.status_code == 200
    new_pair = rotated.json()
    assert new_pair["refresh"] != pair["refresh"]
    assert api_client.get("/api/me", **_bearer(new_pair["access"])).status_code == 200
    reused = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert reused.status_code == 401
    assert "blacklisted" in reused.json()["error"]["message"].lower()
    # The rotated one works exactly once as well.
    assert api_client.post(REFRESH, {"refresh": new_pair["refresh"]}, format="json").status_code == 200


def test_refresh_reads_the_roles_again(api_client, make_client):
    client, key = make_client(roles=[BILLING_TOPUP])
    pair = api_client.post(TOKEN, {"api_key": key}, format="json").json()
    client_roles_set(client=client, roles=[INGEST])
    # The access token already issued keeps its claims until it expires (stateless)...
    assert api_client.get("/api/me", **_bearer(pair["access"])).json()["roles"] == [BILLING_TOPUP]
    # ...and the next refresh carries the roles held now.
    refreshed = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json").json()
    assert api_client.get("/api/me", **_bearer(refreshed["access"])).json()["roles"] == [INGEST]


def test_refresh_of_a_deactivated_client_is_refused(api_client, make_client):
    client, key = make_client()
    pair = api_client.post(TOKEN, {"api_key": key}, format="json").json()
    client.is_active = False
    client.save()
    assert api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code == 401


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
def test_malformed_bearer_tokens_are_a_json_401(api_client, token):
    response = api_client.get("/api/me", **_bearer(token))
    assert response.status_code == 401
    assert "error" in response.json()


def test_a_refresh_token_is_not_accepted_as_an_access_token(api_client, make_client):
    _, key = make_client()
    pair = api_client.post(TOKEN, {"api_key": key}, format="json").json()
    assert api_client.get("/api/me", **_bearer(pair["refresh"])).status_code == 401


def test_access_token_authentication_costs_no_query(api_client, make_client, django_assert_num_queries):
    _, key = make_client()
    access = api_client.post(TOKEN, {"api_key": key}, format="json").json()["access"]
    with django_assert_num_queries(0):
        assert api_client.get("/api/me", **_bearer(access)).status_code == 200


def test_access_token_from_a_refresh_is_not_a_refresh_token(api_client, make_client):
    _, key = make_client()
    pair = api_client.post(TOKEN, {"api_key": key}, format="json").json()
    assert api_client.post(REFRESH, {"refresh": pair["access"]}, format="json").status_code == 401
