"""Login attempts are limited per client address, and the address cannot be forged (finding 6: a
varying X-Forwarded-For skipped the token endpoint's limit; the admin login had none)."""

from __future__ import annotations

import itertools

import pytest
from django.test import RequestFactory

from config.proxies import client_ip

TOKEN = "/api/auth/token"
BAD_KEY = {"api_key": "maas_abcdefghij_" + "A" * 43}
_addresses = (f"203.0.113.{n}" for n in itertools.count(1))


def test_forwarded_for_is_ignored_without_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "198.51.100.7"


def test_only_hops_added_by_trusted_proxies_are_believed(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    factory = RequestFactory()

    def ip(remote: str, forwarded: str) -> str:
        return client_ip(factory.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded))

    assert ip("10.0.0.5", "1.2.3.4") == "1.2.3.4"  # our proxy says who the client is
    assert ip("10.0.0.5", "1.2.3.4, 10.1.1.1") == "1.2.3.4"  # through two of ours
    assert ip("10.0.0.5", "6.6.6.6, 1.2.3.4") == "1.2.3.4"  # the client's own claim (6.6.6.6) is not
    assert ip("198.51.100.7", "1.2.3.4") == "198.51.100.7"  # not through our proxy: header ignored
    assert ip("10.0.0.5", "garbage, 1.2.3.4") == "1.2.3.4"
    assert ip("10.0.0.5", "") == "10.0.0.5"


@pytest.mark.django_db
def test_varying_forwarded_for_does_not_skip_the_login_throttle(api_client, settings):
    settings.AXES_ENABLED = False  # the throttle alone here (the lockout has its own test)
    statuses = [
        api_client.post(TOKEN, BAD_KEY, format="json", HTTP_X_FORWARDED_FOR=next(_addresses)).status_code
        for _ in range(35)
    ]
    assert statuses.count(401) == 30, statuses  # THROTTLE_LOGIN's 30/min, from one address
    assert set(statuses[30:]) == {429}, statuses


@pytest.mark.django_db
def test_token_endpoint_locks_an_address_out_after_failed_logins(api_client, make_client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    _, key = make_client()
    for _ in range(3):
        assert api_client.post(TOKEN, BAD_KEY, format="json", REMOTE_ADDR="198.51.100.9").status_code == 401
    locked = api_client.post(TOKEN, {"api_key": key}, format="json", REMOTE_ADDR="198.51.100.9")
    assert locked.status_code == 429, locked.content  # even with a good key: the address is locked out
    assert locked.json()["error"]["code"] == "login_locked_out"
    assert int(locked["Retry-After"]) > 0
    # Another address is not affected.
    assert api_client.post(TOKEN, {"api_key": key}, format="json", REMOTE_ADDR="198.51.100.10").status_code == 200


@pytest.mark.django_db
def test_admin_login_is_limited_too(client, settings, django_user_model):
    settings.AXES_FAILURE_LIMIT = 3
    django_user_model.objects.create_superuser("root", password="a-long-enough-password")
    for _ in range(2):
        response = client.post("/admin/login/", {"username": "root", "password": "wrong"}, REMOTE_ADDR="198.51.100.11")
        assert response.status_code == 200  # the form again, with an error
    # The third failure reaches the limit: locked out from it on, even with the right password.
    third = client.post("/admin/login/", {"username": "root", "password": "wrong"}, REMOTE_ADDR="198.51.100.11")
    assert third.status_code == 429
    locked = client.post(
        "/admin/login/", {"username": "root", "password": "a-long-enough-password"}, REMOTE_ADDR="198.51.100.11"
    )
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
