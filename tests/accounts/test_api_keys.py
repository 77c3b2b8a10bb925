"""API-key authentication: both header forms, every bad credential a JSON 401, changes effective at once."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts.models import ApiKey
from accounts.roles import BILLING_TOPUP, INGEST
from accounts.services import api_key_create, api_key_revoke, client_roles_set

pytestmark = pytest.mark.django_db


def _me(api_client, **headers):
    return api_client.get("/api/me", **headers)


def test_x_token_header_authenticates_the_client(api_client, make_client):
    client, key = make_client(roles=[INGEST])
    response = _me(api_client, HTTP_X_TOKEN=key)
    assert response.status_code == 200
    assert response.json() == {"client_id": client.pk, "roles": [INGEST], "authenticated_via": "api_key"}


def test_authorization_api_key_header_authenticates_too(api_client, make_client):
    client, key = make_client()
    for scheme in ("Api-Key", "api-key"):
        response = _me(api_client, HTTP_AUTHORIZATION=f"{scheme} {key}")
        assert response.status_code == 200 and response.json()["client_id"] == client.pk


def _assert_401(response):
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    return error


@pytest.mark.parametrize(
    "bad_key",
    [
        "maas_abcdefghij_" + "A" * 43,  # well-formed, unknown
        "not-a-key",
        "",
        "maas_short_x",
        "maas_ABCDEFGHIJ_" + "A" * 43,  # prefix must be lowercase base32
        "x" * 5000,
    ],
)
def test_unknown_or_malformed_keys_are_a_json_401(api_client, make_client, bad_key):
    make_client()
    _assert_401(_me(api_client, HTTP_X_TOKEN=bad_key))
    _assert_401(_me(api_client, HTTP_AUTHORIZATION=f"Api-Key {bad_key}"))


def test_right_prefix_wrong_secret_is_a_401(api_client, make_client):
    _, key = make_client()
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert _me(api_client, HTTP_X_TOKEN=key).status_code == 200  # prefix now cached
    _assert_401(_me(api_client, HTTP_X_TOKEN=forged))


def test_missing_credentials_are_a_401_with_a_challenge(api_client):
    response = _me(api_client)
    error = _assert_401(response)
    assert error["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Api-Key")


def test_revoked_key_is_refused_at_once_even_when_cached(api_client, make_client):
    client, key = make_client()
    assert _me(api_client, HTTP_X_TOKEN=key).status_code == 200  # cached now
    api_key_revoke(api_key=ApiKey.objects.get(client=client))
    _assert_401(_me(api_client, HTTP_X_TOKEN=key))


def test_other_keys_of_the_client_keep_working_after_one_is_revoked(api_client, make_client):
    client, key = make_client()
    second, second_key = api_key_create(client=client, name="second")
    api_key_revoke(api_key=second)
    _assert_401(_me(api_client, HTTP_X_TOKEN=second_key))
    assert _me(api_client, HTTP_X_TOKEN=key).status_code == 200


def test_deactivated_client_is_refused_at_once(api_client, make_client):
    client, key = make_client()
    assert _me(api_client, HTTP_X_TOKEN=key).status_code == 200
    client.is_active = False
    client.save()
    _assert_401(_me(api_client, HTTP_X_TOKEN=key))


def test_role_change_takes_effect_at_once_for_api_key_calls(api_client, make_client):
    client, key = make_client()
    assert _me(api_client, HTTP_X_TOKEN=key).json()["roles"] == []
    client_roles_set(client=client, roles=[BILLING_TOPUP])
    assert _me(api_client, HTTP_X_TOKEN=key).json()["roles"] == [BILLING_TOPUP]
    # Through the group's side too (an operator adding members to a group in the admin).
    Group.objects.get(name=INGEST).user_set.add(client.user)
    assert _me(api_client, HTTP_X_TOKEN=key).json()["roles"] == [BILLING_TOPUP, INGEST]
    client.user.groups.clear()
    assert _me(api_client, HTTP_X_TOKEN=key).json()["roles"] == []


def test_staff_flag_change_takes_effect_at_once(api_client, make_client):
    client, key = make_client(tokens=1)
    other, _ = make_client()
    assert api_client.get(f"/api/balance?client={other.pk}", HTTP_X_TOKEN=key).status_code == 403
    client.user.is_staff = True
    client.user.save()
    assert api_client.get(f"/api/balance?client={other.pk}", HTTP_X_TOKEN=key).status_code == 200


def test_authentication_costs_no_query_on_a_warm_cache(api_client, make_client, django_assert_num_queries):
    _, key = make_client(roles=[BILLING_TOPUP])
    assert _me(api_client, HTTP_X_TOKEN=key).status_code == 200  # fills the cache, stamps last use
    with django_assert_num_queries(0):
        for _ in range(3):
            assert _me(api_client, HTTP_X_TOKEN=key).status_code == 200


def test_unknown_keys_are_remembered_so_a_flood_does_not_query_each_time(
    api_client, make_client, django_assert_num_queries
):
    make_client()
    bad = "maas_abcdefghij_" + "B" * 43
    _assert_401(_me(api_client, HTTP_X_TOKEN=bad))
    with django_assert_num_queries(0):
        _assert_401(_me(api_client, HTTP_X_TOKEN=bad))


def test_a_new_key_works_at_once_after_its_prefix_was_seen_unknown(api_client, make_client):
    client, _ = make_client()
    api_key, raw_key = api_key_create(client=client)
    assert _me(api_client, HTTP_X_TOKEN=raw_key).status_code == 200
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None


def test_keys_are_stored_only_as_hashes(make_client):
    client, raw_key = make_client()
    stored = ApiKey.objects.get(client=client)
    assert raw_key not in (stored.key_hash, stored.prefix, stored.name)
    assert raw_key.startswith(f"maas_{stored.prefix}_") and len(stored.key_hash) == 64
