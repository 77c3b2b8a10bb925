"""Per-client throttling: over the limit → 429 with Retry-After, counted per client."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.throttling import ClientRateThrottle

pytestmark = pytest.mark.django_db


def _rates(**rates):
    framework = settings.REST_FRAMEWORK
    return override_settings(
        REST_FRAMEWORK={**framework, "DEFAULT_THROTTLE_RATES": {**framework["DEFAULT_THROTTLE_RATES"], **rates}}
    )


def test_over_the_limit_is_a_429_with_retry_after(api_client, make_client):
    _, key = make_client()
    with _rates(client="3/min"):
        statuses = [api_client.get("/api/balance", HTTP_X_TOKEN=key).status_code for _ in range(3)]
        refused = api_client.get("/api/balance", HTTP_X_TOKEN=key)
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 60
    error = refused.json()["error"]
    assert error["code"] == "throttled" and error["details"]["retry_after_seconds"] == retry_after


def test_the_limit_is_per_client_whatever_the_credential(api_client, make_client):
    _, busy_key = make_client()
    _, calm_key = make_client()
    with _rates(client="2/min"):
        access = api_client.post("/api/auth/token", {"api_key": busy_key}, format="json").json()["access"]
        assert api_client.get("/api/balance", HTTP_X_TOKEN=busy_key).status_code == 200
        assert api_client.get("/api/balance", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 200
        assert api_client.get("/api/balance", HTTP_X_TOKEN=busy_key).status_code == 429
        assert api_client.get("/api/balance", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 429
        assert api_client.get("/api/balance", HTTP_X_TOKEN=calm_key).status_code == 200


def test_unauthenticated_probes_are_not_counted(api_client):
    with _rates(client="1/min"):
        assert [api_client.get("/api/health").status_code for _ in range(3)] == [200, 200, 200]


def test_a_wrong_secret_does_not_spend_the_key_owners_limit(api_client, make_client):
    # Counting rides on authentication's cache read, but only for requests that carry the secret:
    # knowing a key's public prefix must not let anyone throttle its owner.
    _, key = make_client()
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    with _rates(client="2/min"):
        assert api_client.get("/api/balance", HTTP_X_TOKEN=key).status_code == 200
        assert [api_client.get("/api/balance", HTTP_X_TOKEN=forged).status_code for _ in range(5)] == [401] * 5
        assert api_client.get("/api/balance", HTTP_X_TOKEN=key).status_code == 200
        assert api_client.get("/api/balance", HTTP_X_TOKEN=key).status_code == 429


class _BulkThrottle(ClientRateThrottle):
    scope = "bulk"


class _BulkView(APIView):
    throttle_classes = [_BulkThrottle]

    def get(self, request):
        return Response({})


def test_each_scope_has_its_own_count(api_client, make_client):
    _, key = make_client()
    view = _BulkView.as_view()
    with _rates(client="2/min", bulk="3/min"):
        bulk = [view(APIRequestFactory().get("/api/bulk", HTTP_X_TOKEN=key)).status_code for _ in range(4)]
        client = [api_client.get("/api/balance", HTTP_X_TOKEN=key).status_code for _ in range(3)]
    assert bulk == [200, 200, 200, 429]
    assert client == [200, 200, 429]


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis: set REDIS_URL")
def test_counting_survives_a_dropped_redis_connection_and_a_restarted_script_cache(api_client, make_client):
    # Each request thread keeps one Redis connection and runs the counting script by its hash: a
    # connection closed by the server (restart, idle timeout) or a server that forgot the script
    # (restart, SCRIPT FLUSH) must cost a reconnect or a reload, never a failed call or a lost count.
    from accounts import credentials

    _, key = make_client()
    with _rates(client="3/min"):
        assert api_client.get("/api/balance", HTTP_X_TOKEN=key).status_code == 200
        admin = credentials.redis_client()
        admin.script_flush()
        admin.client_kill_filter(_id=credentials._thread_redis.client.client_id())
        statuses = [api_client.get("/api/balance", HTTP_X_TOKEN=key).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis: set REDIS_URL")
def test_a_warm_api_key_call_costs_one_redis_round_trip(api_client, make_client, monkeypatch):
    # The key's record read and the throttle count travel together: one command, one reply.
    from redis.connection import AbstractConnection

    _, key = make_client(tokens=5)
    for _ in range(2):  # warm: the key's record cached, its owner known to this process, its use stamped
        assert api_client.get("/api/balance", HTTP_X_TOKEN=key).status_code == 200
    sent: list[object] = []
    send = AbstractConnection.send_packed_command
    monkeypatch.setattr(
        AbstractConnection,
        "send_packed_command",
        lambda self, *args, **kwargs: sent.append(args) or send(self, *args, **kwargs),
    )
    assert api_client.get("/api/balance", HTTP_X_TOKEN=key).status_code == 200
    assert len(sent) == 1
