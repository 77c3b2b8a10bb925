"""Redis holds cache and throttle counters only: losing all of it mid-traffic loses nothing.

Paid calls run in threads while this deployment's Redis database is flushed three times (what a
Redis restart without persistence, or a new empty node, does). Every call is a 200 or a 429, never
a 500; the balance each caller sees is the one PostgreSQL holds; the ledger checks clean; a retry
with an Idempotency-Key from before the loss is still replayed without a charge (the keys live in
PostgreSQL); and a client that was throttled before the loss can call again after it (the
counters started over).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from billing.models import LedgerEntry
from billing.selectors import account_balance

pytestmark = [pytest.mark.services, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TOKENS = 100_000
CALLERS = 3
CALLS_EACH = 60


def _flush_redis() -> None:
    # The whole database of this deployment (REDIS_URL's db: 4 for this worktree, 1 in CI). It is
    # what django-redis's cache.clear() does before every test anyway.
    from django_redis import get_redis_connection

    get_redis_connection("default").flushdb()


def _flush_when_done(statuses: Counter[int], calls: int) -> None:
    """Flush Redis once ``calls`` answers have been counted (bounded wait)."""
    deadline = time.monotonic() + 60
    while sum(statuses.values()) < calls and time.monotonic() < deadline:
        time.sleep(0.001)
    _flush_redis()


def _throttled_rates(rate: str) -> Any:
    framework = django_settings.REST_FRAMEWORK
    return override_settings(
        REST_FRAMEWORK={**framework, "DEFAULT_THROTTLE_RATES": {**framework["DEFAULT_THROTTLE_RATES"], "client": rate}}
    )


def test_losing_redis_mid_traffic_loses_no_token_and_recovers(catalogue: Any, make_client: Any) -> None:
    if not django_settings.REDIS_URL:
        pytest.skip("needs Redis")
    callers = [make_client(f"redis-loss-{n}", tokens=TOKENS) for n in range(CALLERS)]
    statuses: Counter[int] = Counter()
    charged: Counter[int] = Counter()
    first_keys: dict[int, tuple[str, dict[str, Any]]] = {}
    lock = threading.Lock()

    def traffic(client_id: int, raw_key: str) -> None:
        api = APIClient()
        api.credentials(HTTP_X_TOKEN=raw_key)
        try:
            for n in range(CALLS_EACH):
                key = f"redis-loss-{client_id}-{n}"
                response = api.get("/api/memes", {"query": "pizza"}, HTTP_IDEMPOTENCY_KEY=key)
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 200:
                        charged[client_id] += response.json()["billing"]["charged"]
                        first_keys.setdefault(client_id, (key, response.json()))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=traffic, args=(client.pk, raw_key), name=f"caller-{client.pk}")
        for client, raw_key in callers
    ]
    for thread in threads:
        thread.start()
    # Lose Redis three times while the calls run: at a quarter, half and three quarters of them (by
    # count, not by clock: on a quiet machine the whole traffic takes under a second).
    total = CALLERS * CALLS_EACH
    for calls in (total // 4, total // 2, total * 3 // 4):
        _flush_when_done(statuses, calls)
    assert sum(statuses.values()) < total, "the traffic ended before the last loss: nothing was tested"
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)

    assert set(statuses) == {200}, statuses  # never a 500: Redis empty is just a cold cache
    assert statuses[200] == CALLERS * CALLS_EACH
    for client, raw_key in callers:
        # Balances come from PostgreSQL: exactly what was charged, nothing lost or doubled.
        assert account_balance(client_id=client.pk) == TOKENS - charged[client.pk]
        debits = LedgerEntry.objects.filter(account_id=client.pk, kind="debit")
        assert -sum(debits.values_list("amount", flat=True)) == charged[client.pk]
        api = APIClient()
        api.credentials(HTTP_X_TOKEN=raw_key)
        balance = api.get("/api/balance").json()
        assert balance["balance"] == TOKENS - charged[client.pk], balance
        # A retry of a call made before the losses is replayed from PostgreSQL, not charged again.
        key, first = first_keys[client.pk]
        _flush_redis()
        again = api.get("/api/memes", {"query": "pizza"}, HTTP_IDEMPOTENCY_KEY=key)
        assert again.status_code == 200 and again.json()["billing"]["replayed"] is True
        assert again.json()["memes"] == first["memes"]
        assert account_balance(client_id=client.pk) == TOKENS - charged[client.pk]
    out = StringIO()
    call_command("check_ledger", stdout=out)  # raises (exit non-zero) on any difference


def test_throttles_start_over_after_losing_redis(make_client: Any) -> None:
    if not django_settings.REDIS_URL:
        pytest.skip("needs Redis")
    _, raw_key = make_client(f"redis-throttle-{uuid.uuid4().hex[:6]}")
    api = APIClient()
    api.credentials(HTTP_X_TOKEN=raw_key)
    with _throttled_rates("3/min"):
        assert [api.get("/api/balance").status_code for _ in range(4)] == [200, 200, 200, 429]
        _flush_redis()
        # The counters were in Redis: the client starts a fresh minute (a generous failure mode:
        # at most one extra window of calls, each still paid in full from PostgreSQL).
        assert [api.get("/api/balance").status_code for _ in range(4)] == [200, 200, 200, 429]
