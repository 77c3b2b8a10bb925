"""GET/POST /api/webhooks, DELETE /api/webhooks/{id}: validation, the secret shown once, the SSRF
guard, and that a client reaches only its own webhooks."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import TokenAccount
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db


def _api(raw_key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_X_TOKEN=raw_key)
    return api


def _create(api: APIClient, **body: Any) -> Any:
    body = {"url": "https://hooks.example.com/maas", "events": ["balance.below_threshold"], "threshold": 10, **body}
    return api.post("/api/webhooks", body, format="json")


def test_create_shows_the_secret_once_and_never_again(make_client):
    _, key = make_client()
    api = _api(key)
    response = _create(api, url="http://127.0.0.1:9/hook")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) == 6 + 64
    assert created["secret_hint"] == created["secret"][-4:]
    listed = api.get("/api/webhooks").json()["webhooks"]
    assert [hook["id"] for hook in listed] == [created["id"]]
    assert "secret" not in listed[0]
    # Not in the database either: only a salt, from which the server derives it with its key.
    stored = Webhook.objects.values().get(pk=created["id"])
    assert created["secret"] not in str(stored)


def test_a_threshold_webhook_tells_billing_which_balance_to_watch(make_client):
    client, key = make_client()
    api = _api(key)
    first = _create(api, url="http://127.0.0.1:9/a", threshold=50).json()
    _create(api, url="http://127.0.0.1:9/b", threshold=5)
    _create(api, url="http://127.0.0.1:9/c", events=["key.created"], threshold=None)
    assert TokenAccount.objects.get(client_id=client.pk).alert_thresholds == [5, 50]
    assert api.delete(f"/api/webhooks/{first['id']}").status_code == 204
    assert TokenAccount.objects.get(client_id=client.pk).alert_thresholds == [5]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://user:pw@example.com/"}, "url"),
        ({"events": []}, "events"),
        ({"events": ["balance.exploded"]}, "events"),
        ({"events": "balance.depleted"}, "events"),
        ({"threshold": None}, "threshold"),
        ({"threshold": 0}, "threshold"),
        ({"threshold": "ten"}, "threshold"),
        ({"events": ["key.created"], "threshold": 5}, "threshold"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(make_client, body, field):
    _, key = make_client()
    response = _create(_api(key), **body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        "http://does-not-exist.invalid/hook",
    ],
)
def test_non_public_or_unresolvable_targets_are_refused(make_client, settings, url):
    settings.WEBHOOKS = {**settings.WEBHOOKS, "ALLOW_PRIVATE_ADDRESSES": False}
    _, key = make_client()
    response = _create(_api(key), url=url)
    assert response.status_code == 400, response.content
    assert "url" in response.json()["error"]["details"]
    assert not Webhook.objects.exists()


def test_a_public_address_is_accepted_with_the_guard_on(make_client, settings):
    settings.WEBHOOKS = {**settings.WEBHOOKS, "ALLOW_PRIVATE_ADDRESSES": False}
    _, key = make_client()
    # An IP literal: resolving it needs no DNS, so the test does not depend on the network.
    assert _create(_api(key), url="https://93.184.215.14/hook").status_code == 201


def test_a_client_sees_and_deletes_only_its_own_webhooks(make_client):
    _, key_a = make_client()
    _, key_b = make_client()
    hook_a = _create(_api(key_a), url="http://127.0.0.1:9/a").json()
    api_b = _api(key_b)
    assert api_b.get("/api/webhooks").json() == {"webhooks": []}
    response = api_b.delete(f"/api/webhooks/{hook_a['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert Webhook.objects.filter(pk=hook_a["id"]).exists()
    assert _api(key_a).delete(f"/api/webhooks/{hook_a['id']}").status_code == 204
    assert _api(key_a).delete(f"/api/webhooks/{hook_a['id']}").status_code == 404


def test_the_number_of_webhooks_is_limited(make_client, settings):
    settings.WEBHOOKS = {**settings.WEBHOOKS, "MAX_PER_CLIENT": 2}
    _, key = make_client()
    api = _api(key)
    assert _create(api).status_code == 201
    assert _create(api).status_code == 201
    response = _create(api)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "too_many_webhooks"


def test_without_credentials_it_is_a_401(api_client):
    assert api_client.get("/api/webhooks").status_code == 401
    assert api_client.post("/api/webhooks", {}, format="json").status_code == 401
    assert api_client.delete("/api/webhooks/1").status_code == 401


def test_a_body_that_is_not_json_is_a_json_4xx(make_client):
    _, key = make_client()
    response = _api(key).generic("POST", "/api/webhooks", b"{nope", content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()
