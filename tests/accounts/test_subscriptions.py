"""Premium AI is a subscription with an end date: it stops on time for API keys and for JWTs,
and an operator's grant or revoke takes effect at once for API-key calls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Subscription
from accounts.roles import PREMIUM_AI
from accounts.services import subscription_grant, subscription_revoke


def _roles(api_client, **headers) -> list[str]:
    response = api_client.get("/api/me", **headers)
    assert response.status_code == 200, response.content
    return response.json()["roles"]


@pytest.mark.django_db
def test_grant_and_revoke_take_effect_at_once_for_api_keys(api_client, make_client):
    client, key = make_client()
    assert PREMIUM_AI not in _roles(api_client, HTTP_X_TOKEN=key)  # now cached without premium

    subscription_grant(client=client)
    assert PREMIUM_AI in _roles(api_client, HTTP_X_TOKEN=key)

    subscription_revoke(client=client)
    assert PREMIUM_AI not in _roles(api_client, HTTP_X_TOKEN=key)


@pytest.mark.django_db
def test_expired_subscription_stops_without_anyone_acting(api_client, make_client, monkeypatch):
    client, key = make_client()
    ends = timezone.now() + timedelta(hours=1)
    subscription_grant(client=client, ends_at=ends)
    pair = api_client.post("/api/auth/token", {"api_key": key}, format="json").json()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {pair['access']}"}
    assert PREMIUM_AI in _roles(api_client, HTTP_X_TOKEN=key)
    assert PREMIUM_AI in _roles(api_client, **bearer)

    # An hour later (the cached key record and the token are both still valid otherwise).
    later = ends.timestamp() + 1
    monkeypatch.setattr("accounts.credentials.time.time", lambda: later)
    monkeypatch.setattr("accounts.authentication.time.time", lambda: later)
    assert PREMIUM_AI not in _roles(api_client, HTTP_X_TOKEN=key)
    assert PREMIUM_AI not in _roles(api_client, **bearer)


@pytest.mark.django_db
def test_jwt_loses_premium_at_next_refresh_after_revoke(api_client, make_client):
    client, key = make_client(roles=[PREMIUM_AI])
    pair = api_client.post("/api/auth/token", {"api_key": key}, format="json").json()
    assert PREMIUM_AI in _roles(api_client, HTTP_AUTHORIZATION=f"Bearer {pair['access']}")

    subscription_revoke(client=client)
    refreshed = api_client.post("/api/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert refreshed.status_code == 200, refreshed.content
    assert PREMIUM_AI not in _roles(api_client, HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")


@pytest.mark.django_db
def test_future_subscription_is_not_active_yet(make_client):
    client, _ = make_client()
    subscription = Subscription.objects.create(client=client, starts_at=timezone.now() + timedelta(days=1))
    assert not subscription.is_active()
    assert subscription_revoke(client=client) == 0
    assert not Subscription.objects.filter(pk=subscription.pk).exists()
