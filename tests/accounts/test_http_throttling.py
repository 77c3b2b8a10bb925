"""The per-client limit across real server processes sharing Redis: exact under concurrent calls,
whether a call is counted by authentication's round trip or by the throttle itself."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.billing.concurrency import run_at_once
from tests.billing.servers import running_servers

pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.django_db(transaction=True)]
LIMIT = 40
CALLS = 100


def test_the_limit_is_exact_under_concurrent_calls_to_two_servers(make_client):
    _, key = make_client()
    sessions = threading.local()
    # A day's window: a window boundary in the middle of the test would reset the count.
    with running_servers(2, workers=2, env={"THROTTLE_CLIENT": f"{LIMIT}/day"}) as servers:

        def get(i: int) -> int:
            if not hasattr(sessions, "s"):
                sessions.s = requests.Session()
            response = sessions.s.get(servers[i % 2].url("/api/balance"), headers={"X-Token": key}, timeout=30)
            return response.status_code

        statuses = run_at_once(16, CALLS, get)
        # The processes have seen the key by now, so these are counted in authentication's round
        # trip (or by the throttle, in a process that has not): all over the limit.
        later = [get(i) for i in range(8)]
    assert sorted(statuses) == [200] * LIMIT + [429] * (CALLS - LIMIT), statuses
    assert later == [429] * 8
