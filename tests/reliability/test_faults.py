"""Faults injected into each backing service, on a private stack (tests/reliability/stack.py: this
module's own PostgreSQL cluster, Redis and RabbitMQ) with the production server (``deploy/serve``)
in front. Each outage is short and every request loop bounded, so the module takes about two minutes.

- PostgreSQL stopped: every endpoint that needs it answers 503 JSON with ``Retry-After`` (never a
  500, never a traceback per request), readiness is red and liveness green, nothing is charged and
  no record is accepted; once it is back the same server serves again, and the ledger checks out.
- Redis stopped: paid calls and ingest go on (fail open: Redis holds only copies and counters),
  still throttled (per process), charged exactly once per meme served; readiness stays green and
  says the cache is degraded; once Redis is back the shared counters are used again.
- Redis hung (SIGSTOP): skipped after the first timeout, tried again every few seconds, so calls keep
  their usual speed.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
import requests

from tests.billing.servers import Server
from tests.reliability.stack import MISSING_TOOLS, RECORD, REQUIRE_SERVICES, Stack, get, post

if MISSING_TOOLS and not REQUIRE_SERVICES:
    pytestmark = pytest.mark.skip(reason=f"fault tests need {', '.join(MISSING_TOOLS)} installed")


def _log(server: Server) -> str:
    return server.log_path.read_text(errors="replace")


def _assert_503(response: requests.Response, what: str) -> None:
    assert response.status_code == 503, (what, response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json"), (what, response.headers)
    assert int(response.headers["Retry-After"]) > 0, (what, response.headers)
    assert response.json()["error"]["code"] in ("database_unavailable", "ingest_unavailable"), (what, response.text)


def _balance(stack: Stack, name: str) -> int:
    """Read in the database itself: a call to /api/balance would count against the throttle."""
    code = f"from billing.models import TokenAccount; print(TokenAccount.objects.get(client__name={name!r}).balance)"
    return int(stack.manage("shell", "-c", code).strip().splitlines()[-1])


def test_postgres_down_is_503_everywhere_and_recovers_without_restart(fresh_stack: Stack) -> None:
    stack = fresh_stack
    paid_key = stack.client_create("pg-paid", tokens=100)
    cold_key = stack.client_create("pg-cold", tokens=100)  # never used before the outage: not cached
    ingest_key = stack.client_create("pg-ingest", roles=("ingest",))
    server = stack.serve(WEB_WORKERS="2")
    paid = {"X-Token": paid_key}

    first = get(server, "/api/memes?query=cat", headers=paid)
    assert first.status_code == 200, first.text
    meme_id = first.json()["memes"][0]["id"]
    accepted = post(server, "/api/ingest", json=RECORD, headers={"X-Token": ingest_key})
    assert accepted.status_code == 202, accepted.text
    record_id = accepted.json()["id"]
    access = post(server, "/api/auth/token", json={"api_key": paid_key}).json()["access"]
    served = 1

    stack.postgres.stop()
    jwt = {"Authorization": f"Bearer {access}"}
    calls = {
        "paid search": lambda: get(server, "/api/memes?query=cat", headers=paid),
        "paid search, uncached key": lambda: get(server, "/api/memes?query=cat", headers={"X-Token": cold_key}),
        "paid meme by id": lambda: get(server, f"/api/memes/{meme_id}", headers=paid),
        "paid PNG": lambda: get(server, f"/api/memes/{meme_id}.png", headers=paid),
        "balance": lambda: get(server, "/api/balance", headers=paid),
        "usage": lambda: get(server, "/api/usage", headers=paid),
        "ingest": lambda: post(server, "/api/ingest", json=RECORD, headers={"X-Token": ingest_key}),
        "ingest status": lambda: get(server, f"/api/ingest/{record_id}", headers={"X-Token": ingest_key}),
        "token from key": lambda: post(server, "/api/auth/token", json={"api_key": paid_key}),
        "paid search by JWT": lambda: get(
            server, "/api/memes?query=cat", headers={"Authorization": f"Bearer {access}"}
        ),
    }
    requests_during_outage = 0
    for _ in range(5):  # both server processes, warm and cold connections
        for what, call in calls.items():
            _assert_503(call(), what)
            requests_during_outage += 1
        ready = get(server, "/api/ready")
        assert ready.status_code == 503, ready.text
        assert ready.json()["error"]["details"]["components"]["database"]["ok"] is False
        assert get(server, "/api/health").status_code == 200  # liveness: no restart for a database outage
    # Needs no database at all: a JWT's claims are the whole authorization.
    assert get(server, "/api/me", headers=jwt).status_code == 200

    log = _log(server)
    assert "Traceback" not in log, log[-3000:]
    # One line now and then, not one per request (10 s per process at most; the outage is shorter).
    assert 1 <= log.count("database unavailable path=") <= 4, log[-3000:]

    stack.postgres.start()
    deadline = time.monotonic() + 30
    statuses: Counter[int] = Counter()
    while time.monotonic() < deadline:
        response = get(server, "/api/memes?query=cat", headers=paid)
        statuses[response.status_code] += 1
        if response.status_code == 200:
            served += 1
            if statuses[200] >= 4:  # both processes have reconnected, most likely
                break
        else:
            _assert_503(response, "paid search while PostgreSQL comes back")
        time.sleep(0.2)
    assert statuses[200] >= 4, statuses
    assert post(server, "/api/ingest", json=RECORD, headers={"X-Token": ingest_key}).status_code == 202
    assert get(server, "/api/memes?query=cat", headers={"X-Token": cold_key}).status_code == 200

    # Nothing charged for any of the 503s, and the ledger agrees with every balance.
    assert _balance(stack, "pg-paid") == 100 - served
    assert _balance(stack, "pg-cold") == 99
    stack.manage("check_ledger")


def test_redis_down_fails_open_still_throttled_and_recovers(fresh_stack: Stack) -> None:
    stack, limit = fresh_stack, 25
    paid_key = stack.client_create("redis-paid", tokens=1000)
    ingest_key = stack.client_create("redis-ingest", roles=("ingest",))
    # One process: its local counter is then the whole count, and the limit exact.
    server = stack.serve(WEB_WORKERS="1", THROTTLE_CLIENT=f"{limit}/min")
    paid = {"X-Token": paid_key}
    assert get(server, "/api/memes?query=cat", headers=paid).status_code == 200
    access = post(server, "/api/auth/token", json={"api_key": paid_key}).json()["access"]

    stack.redis.stop()
    if time.time() % 60 > 45:  # the burst below must fit in one throttle window (a minute)
        time.sleep(61 - time.time() % 60)
    statuses = Counter(get(server, "/api/memes?query=cat", headers=paid).status_code for _ in range(limit + 10))
    # Counted from zero in this process (the shared count is in the Redis that is down): exactly
    # the limit served, the rest refused with 429 and Retry-After: never an unthrottled flood.
    assert statuses == {200: limit, 429: 10}, statuses
    refused = get(server, "/api/memes?query=cat", headers=paid)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # A JWT call is counted by the throttle itself, in the same local counter: refused too.
    assert get(server, "/api/memes?query=cat", headers={"Authorization": f"Bearer {access}"}).status_code == 429

    accepted = post(server, "/api/ingest", json=RECORD, headers={"X-Token": ingest_key})
    assert accepted.status_code == 202, accepted.text  # its durability is PostgreSQL's
    ready = get(server, "/api/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "degraded" and ready.json()["degraded"] == ["cache"]
    # Charged exactly once for each meme served, never for a refused call.
    assert _balance(stack, "redis-paid") == 1000 - 1 - limit

    stack.redis.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "redis reachable again" not in _log(server):
        get(server, "/api/balance", headers={"X-Token": ingest_key})
        time.sleep(0.3)
    log = _log(server)
    assert "redis reachable again" in log, log[-3000:]
    assert get(server, "/api/ready").json()["status"] == "ready"
    # Back on the shared counters: a fresh Redis has counted nothing of this window yet.
    assert get(server, "/api/memes?query=cat", headers=paid).status_code == 200
    assert "Traceback" not in log, log[-3000:]
    assert " 500 " not in log
    stack.manage("check_ledger")


def test_a_hung_redis_is_skipped_not_waited_for(fresh_stack: Stack) -> None:
    """A Redis that hangs (SIGSTOP: connections accepted, nothing answered) is what a stalled host
    or a partition looks like. Each cache call waited its 2 s socket timeout, several per request:
    every call took 2-8 s. Now a process pays the timeout once per retry period and skips Redis
    in between (config/cache.py), so calls go on at their usual speed."""
    stack = fresh_stack
    paid_key = stack.client_create("hung-paid", tokens=1000)
    ingest_key = stack.client_create("hung-ingest", roles=("ingest",))
    server = stack.serve(WEB_WORKERS="2")
    assert get(server, "/api/memes?query=cat", headers={"X-Token": paid_key}).status_code == 200

    stack.redis.pause()
    started, took, statuses, served = time.monotonic(), [], Counter[int](), 0
    for n in range(40):
        begun = time.monotonic()
        if n % 2:
            response = post(server, "/api/ingest", json=RECORD, headers={"X-Token": ingest_key})
        else:
            response = get(server, f"/api/memes?query=cat&n={n}", headers={"X-Token": paid_key})
            served += response.status_code == 200
        took.append(time.monotonic() - begun)
        statuses[response.status_code] += 1
    elapsed = time.monotonic() - started
    ready_begun = time.monotonic()
    ready = get(server, "/api/ready")
    ready_took = time.monotonic() - ready_begun

    assert statuses == {200: 20, 202: 20}, statuses
    took.sort()
    assert took[len(took) // 2] < 0.5, f"median {took[len(took) // 2]:.2f}s: {took}"
    # At most one call per server process and retry period (5 s) pays the timeout.
    slow = sum(seconds > 1.5 for seconds in took)
    assert slow <= 2 * (int(elapsed // 5) + 1), f"{slow} slow calls in {elapsed:.0f}s: {took}"
    assert ready.status_code == 200 and ready.json()["degraded"] == ["cache"], ready.text
    assert ready_took < 4, f"readiness took {ready_took:.1f}s"
    assert _balance(stack, "hung-paid") == 1000 - 1 - served

    stack.redis.resume()
    # Each server process finds Redis back at its own next probe (within 5 s): ready once both have,
    # so ask until several answers in a row say so (either process may take each request).
    deadline, in_a_row = time.monotonic() + 20, 0
    while time.monotonic() < deadline and in_a_row < 6:
        ready = get(server, "/api/ready")
        in_a_row = in_a_row + 1 if ready.json()["status"] == "ready" else 0
        get(server, "/api/memes?query=cat", headers={"X-Token": paid_key})
        time.sleep(0.2)
    assert in_a_row >= 6, (ready.text, _log(server)[-4000:])
    log = _log(server)
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]
    stack.manage("check_ledger")


def test_a_revocation_made_while_redis_hangs_holds_when_it_comes_back_with_its_data(fresh_stack: Stack) -> None:
    """Deactivating a client publishes its new credentials version to Redis; with Redis hung, that
    publish is lost, and a Redis that comes back with its data still holds the old version (and the
    key's cached record): the client's JWT and key worked again after the outage. Now the server
    that sees Redis return publishes again what changed meanwhile (accounts.credentials_republish)."""
    stack = fresh_stack
    key = stack.client_create("revoked-in-outage", tokens=100)
    # One process: the one that saw the outage is the one asked afterwards (with several, the first
    # to see Redis back publishes for all).
    server = stack.serve(WEB_WORKERS="1")
    access = post(server, "/api/auth/token", json={"api_key": key}).json()["access"]
    bearer = {"Authorization": f"Bearer {access}"}
    assert get(server, "/api/memes?query=cat", headers=bearer).status_code == 200  # version cached
    assert get(server, "/api/memes?query=cat", headers={"X-Token": key}).status_code == 200  # record cached
    code = "from accounts.models import Client; print(Client.objects.get(name='revoked-in-outage').pk)"
    client_id = stack.manage("shell", "-c", code).strip().splitlines()[-1]

    stack.redis.pause()
    stack.manage("deactivate_client", client_id)
    # While Redis is out the server reads the database: refused at once.
    assert get(server, "/api/memes?query=cat", headers=bearer).status_code == 401
    assert get(server, "/api/memes?query=cat", headers={"X-Token": key}).status_code == 401

    stack.redis.resume()  # back with everything it held, the old version included
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "published again" not in _log(server):
        assert get(server, "/api/memes?query=cat", headers=bearer).status_code == 401
        time.sleep(0.5)
    # Every client changed in the last minutes (this one, and those the module's other tests made).
    assert re.search(r"credentials of [1-9]\d* clients changed since .* published again", _log(server)), _log(server)[
        -3000:
    ]
    for _ in range(5):
        assert get(server, "/api/memes?query=cat", headers=bearer).status_code == 401
        assert get(server, "/api/memes?query=cat", headers={"X-Token": key}).status_code == 401
    assert _balance(stack, "revoked-in-outage") == 100 - 2  # the two calls before the outage
