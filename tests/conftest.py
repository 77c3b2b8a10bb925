"""Shared fixtures.

Markers: ``postgres`` tests need row locks and real concurrency; ``services`` tests need the real
Redis/RabbitMQ. On a laptop without them they skip; in CI (``MAAS_REQUIRE_SERVICES=1``) a missing
service is a failure, never a silent skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

REQUIRE_SERVICES = os.environ.get("MAAS_REQUIRE_SERVICES") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing: list[tuple[str, str]] = []
    if not settings.IS_POSTGRES:
        missing.append(("postgres", "needs PostgreSQL: set DATABASE_URL=postgres://..."))
    if not (settings.REDIS_URL and settings.BROKER_URL):
        missing.append(("services", "needs Redis and a broker: set REDIS_URL and BROKER_URL"))
    for marker, reason in missing:
        for item in items:
            if marker in item.keywords:
                if REQUIRE_SERVICES:
                    raise pytest.UsageError(f"MAAS_REQUIRE_SERVICES=1 but {reason} ({item.nodeid})")
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True, scope="session")
def _no_embedded_worker() -> Iterator[None]:
    """The embedded settings start an in-process worker with each request handler; the suite
    starts the workers it needs itself (tests/ingest/conftest.py), so none grows on its own."""
    with override_settings(INGEST={**settings.INGEST, "EMBEDDED_WORKER": False}):
        yield


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Each test starts with an empty cache (the Redis one is shared, so only our prefix), and with
    no memory of having stamped a key's last use: ids are reused after a rollback, and a stamp made
    by an earlier test would skip (or, a minute later, add) the UPDATE a test counts on."""
    from accounts import services

    cache.clear()
    services._last_stamped.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_client(db):
    """Create an API client; returns ``(client, raw_api_key)``.

    ``tokens`` credits the account through the billing ledger, like an operator would.
    """
    import itertools

    from accounts.services import api_key_create, client_create

    counter = itertools.count(1)

    def _make(
        name: str | None = None, *, roles: tuple[str, ...] | list[str] = (), tokens: int = 0, staff: bool = False
    ):
        client = client_create(name=name or f"client-{next(counter)}", roles=roles)
        if staff:
            client.user.is_staff = True
            client.user.save(update_fields=["is_staff"])
        if tokens:
            from billing.services import account_credit

            account_credit(client_id=client.pk, amount=tokens, reason="test credit")
        _, raw_key = api_key_create(client=client)
        return client, raw_key

    return _make
