"""Per-client request limit, counted in the shared cache (Redis in real mode).

DRF's ``SimpleRateThrottle`` keeps a list of timestamps per client and writes it back after each
request: a read-modify-write that under-counts concurrent requests, and at thousands of requests a
minute it (un)pickles a list that long on every call. A fixed-window counter is one atomic ``INCR``:
exact under any concurrency, constant cost. Its known trade-off is that a client can spend two
windows' worth around a window boundary; for an abuse limit that is acceptable.

On Redis, an API-key call is counted in the round trip that authentication already makes to read
the key's cached record: authentication asks the view for its counters (:func:`client_counters`),
reads the record and counts the request in one Redis command (:func:`read_and_count`, a script)
and leaves the counts on the request (:func:`counts_keep`); the throttle then uses them instead of
counting again. One Redis round trip per call instead of two. So a request is counted before its
permissions are checked, and one refused with a 403 counts too.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, cast

from django.core.cache import cache
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from accounts.principal import Principal

_COUNTS_ATTRIBUTE = "client_throttle_counts"


@dataclass(frozen=True, slots=True)
class Counter:
    """One client's request counter for one throttle scope, in the current window."""

    scope: str
    key: str  # cache key, before the cache's own prefix
    limit: int
    timeout: int  # seconds the counter lives: its window, and a second to spare
    window_end: float  # Unix time


Counts = dict[str, tuple[Counter, int]]  # scope -> (counter, requests counted in its window)


@functools.cache
def _parse_rate(rate: str) -> tuple[int, int]:
    """ "6000/min" → (6000, 60); parsed once per distinct rate string."""
    num_requests, duration = SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
    if num_requests is None or duration is None:
        raise ValueError(f"Invalid throttle rate {rate!r}; expected e.g. '6000/min'.")
    return num_requests, duration


def _counter(scope: str, client_id: int, now: float) -> Counter | None:
    # Read per request (a dict lookup), not at import, so override_settings works in tests.
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
    if not rate:
        return None
    limit, duration = _parse_rate(rate)
    window = int(now // duration)
    return Counter(scope, f"throttle:{scope}:{client_id}:{window}", limit, duration + 1, (window + 1) * duration)


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
        counted = getattr(request, _COUNTS_ATTRIBUTE, {}).pop(self.scope, None)
        if counted is not None:  # counted during authentication
            counter, count = counted
        else:
            found = _counter(self.scope, principal.client_id, time.time())
            if found is None:
                return True
            counter, count = found, _incr(found)
        if count <= counter.limit:
            return True
        self._wait = counter.window_end - time.time()
        return False

    def wait(self) -> float | None:
        return math.ceil(self._wait) if self._wait is not None else None


def client_counters(view: Any, client_id: int) -> list[Counter]:
    """The counters that ``view``'s client throttles will check for a request of ``client_id``."""
    get_throttles = getattr(view, "get_throttles", None)
    if get_throttles is None:
        return []
    now = time.time()
    counters = (_counter(t.scope, client_id, now) for t in get_throttles() if isinstance(t, ClientRateThrottle))
    return [counter for counter in counters if counter is not None]


# One Redis command: read the value at KEYS[1] if ARGV[1] is "1", then count the request in each
# counter key after it, giving a new counter its expiry (ARGV[2], ARGV[3], ...). A script rather
# than a pipeline of GET, INCR and EXPIRE: one command to pack and one reply to parse (about 15 µs
# of CPU less per call), and atomic, so a counter never exists without its expiry.
_READ_AND_COUNT = """
local reads = tonumber(ARGV[1])
local out = {false}
if reads == 1 then out[1] = redis.call('GET', KEYS[1]) end
for i = reads + 1, #KEYS do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[i - reads + 1]) end
  out[#out + 1] = count
end
return out
"""


def read_and_count(read_key: str | None, counters: list[Counter]) -> tuple[bytes | None, Counts] | None:
    """In one Redis round trip: the raw cached value at ``read_key`` (a cache key, before the
    cache's prefix; None: read nothing) and the request counted in each of ``counters``.
    None when the cache is not Redis."""
    redis = _redis()
    if redis is None:
        return None
    keys = [] if read_key is None else [cache.make_and_validate_key(read_key)]
    keys += [cache.make_and_validate_key(counter.key) for counter in counters]
    args = ["0" if read_key is None else "1", *(counter.timeout for counter in counters)]
    raw, *counts = redis.evalsha_script(keys, args)
    return raw, {counter.scope: (counter, int(count)) for counter, count in zip(counters, counts, strict=True)}


class _ThreadRedis(threading.local):
    """Per thread: a Redis client holding one connection of the cache's pool for good, and the
    script registered on it. Taking a connection from the pool and giving it back on every call
    costs about 15 µs of CPU; a request thread makes one call at a time, so it can keep one."""

    pid = 0  # the process that made the client: a forked child makes its own
    client: Any = None
    script: Any = None

    def evalsha_script(self, keys: list[str], args: list[Any]) -> list[Any]:
        return cast(list[Any], self.script(keys=keys, args=args, client=self.client))


_thread_redis = _ThreadRedis()


def _redis() -> _ThreadRedis | None:
    local = _thread_redis
    if local.pid != os.getpid():
        shared = redis_client()
        local.client = local.script = None
        if shared is not None:
            local.client = Redis(connection_pool=shared.connection_pool, single_connection_client=True)
            # The pool probes a connection each time it hands it out; a kept one is not, so when
            # the server has closed it (restart, idle timeout) the next call fails on it: then
            # reconnect and send again, once. Not after a timeout: that call may have counted.
            local.client.connection.retry = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
            local.script = local.client.register_script(_READ_AND_COUNT)
        local.pid = os.getpid()
    return local if local.client is not None else None


def counts_keep(request: Request, counts: Counts) -> None:
    """Leave counts made during authentication for the request's throttles."""
    if counts:
        setattr(request, _COUNTS_ATTRIBUTE, counts)


def _incr(counter: Counter) -> int:
    """Atomically count one more request in ``counter``, creating it with its expiry."""
    counted = read_and_count(None, [counter])
    if counted is not None:
        return counted[1][counter.scope][1]
    # Other cache backends: add() creates the counter if absent, incr() is atomic where the backend is.
    cache.add(counter.key, 0, counter.timeout)
    try:
        return cache.incr(counter.key)
    except ValueError:  # expired between add() and incr()
        cache.add(counter.key, 1, counter.timeout)
        return 1


def redis_client() -> Any:
    """The raw Redis client behind the default cache, or None when the cache is not Redis."""
    try:
        from django_redis import get_redis_connection

        return get_redis_connection("default")
    except (ImportError, NotImplementedError):
        return None
