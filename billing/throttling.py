"""Per-client request limit, counted in the shared cache (Redis in real mode).

DRF's ``SimpleRateThrottle`` keeps a list of timestamps per client and writes it back after each
request: a read-modify-write that under-counts concurrent requests, and at thousands of requests a
minute it (un)pickles a list that long on every call. A fixed-window counter is one atomic ``INCR``:
exact under any concurrency, constant cost. Its known trade-off is that a client can spend two
windows' worth around a window boundary; for an abuse limit that is acceptable.
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from accounts.principal import Principal


@functools.cache
def _parse_rate(rate: str) -> tuple[int, int]:
    """ "6000/min" → (6000, 60); parsed once per distinct rate string."""
    num_requests, duration = SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
    if num_requests is None or duration is None:
        raise ValueError(f"Invalid throttle rate {rate!r}; expected e.g. '6000/min'.")
    return num_requests, duration


class ClientRateThrottle(BaseThrottle):
    """Limits each API client (by client id, whatever key or token it uses) to the ``client`` rate.

    Requests that are not from a client (health probes, login) are left to their own throttles.
    """

    scope = "client"

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal):
            return True
        # Read per request (a dict lookup), not at import, so override_settings works in tests.
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if not rate:
            return True
        limit, duration = _parse_rate(rate)
        now = time.time()
        window = int(now // duration)
        key = f"throttle:{self.scope}:{principal.client_id}:{window}"
        count = _incr(key, timeout=duration + 1)
        if count <= limit:
            return True
        self._wait = (window + 1) * duration - now
        return False

    def wait(self) -> float | None:
        return math.ceil(self._wait) if self._wait is not None else None


def _incr(key: str, *, timeout: int) -> int:
    """Atomically count one more request in ``key``, creating it with an expiry."""
    client = _redis_client()
    if client is not None:
        full_key = cache.make_and_validate_key(key)
        # One round trip: INCR, and give the key its expiry only when it is new (NX).
        pipe = client.pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, timeout, nx=True)
        return int(pipe.execute()[0])
    # Other cache backends: add() creates the counter if absent, incr() is atomic where the backend is.
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout)
        return 1


def _redis_client() -> Any:
    try:
        from django_redis import get_redis_connection

        return get_redis_connection("default")
    except (ImportError, NotImplementedError):
        return None
