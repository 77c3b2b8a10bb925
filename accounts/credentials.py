"""An API-key call's one Redis round trip: who is calling, and the call counted for its throttles.

Every API-key call needs two things from the shared cache (Redis in real mode): the key's record
(whose key, its hash, roles, premium end) and one more request counted in each of the client's
throttle windows. Asking for them separately is two round trips; this module asks once, with one
Redis script (:data:`_READ_AND_COUNT`) on a connection each request thread keeps, and owns
everything that takes: the cached key records, the throttle counters, the script and the
connection. ``accounts.authentication`` calls :func:`api_key_principal`; ``accounts.throttling``
uses the counts it made, or :func:`request_count` for a call that was not counted then.

Only calls that carry the key's secret are counted up front: a caller who knows a key's public
prefix cannot spend its owner's limit. A key this process has not authenticated yet is read first
and left to the throttle to count (one round trip more, once per key and process). So a call is
counted before its permissions are checked, and one refused with a 403 counts too.

A fixed-window counter is one atomic ``INCR``: exact under any concurrency, constant cost (DRF's
``SimpleRateThrottle`` rewrites a list of timestamps per call, a read-modify-write that under-counts
concurrent calls). Its trade-off is that a client can spend two windows' worth around a window
boundary; for an abuse limit that is acceptable.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.core.cache import cache
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.keys import key_matches, key_prefix
from accounts.principal import Principal
from accounts.selectors import (
    KeyRecord,
    api_key_prefixes,
    api_key_record,
    client_credentials_version,
    clients_with_credentials_changed_since,
    roles_at,
)
from config.cache import REDIS_OUTAGE, REDIS_UNAVAILABLE

logger = logging.getLogger(__name__)

RECORD_CACHE_SECONDS = 300
UNKNOWN_KEY_CACHE_SECONDS = 60  # a flood of bad keys must not become a flood of queries
_MISSING = "missing"  # cached for a prefix that names no active key


def _record_cache_key(prefix: str) -> str:
    return f"accounts:key:{prefix}"


@dataclass(frozen=True, slots=True)
class Counter:
    """One client's request counter for one throttle scope, in the current window."""

    scope: str
    key: str  # cache key, before the cache's own prefix
    limit: int
    timeout: int  # seconds the counter lives: its window, and a second to spare
    window_end: float  # Unix time


Counts = dict[str, tuple[Counter, int]]  # scope -> (counter, requests counted in its window)


# --- who is calling -----------------------------------------------------------------------------

# prefix -> (client id, key hash) of keys this process has authenticated. A key never changes
# owner or hash, so this cannot go stale; it only tells whose calls to count up front.
_key_owners: dict[str, tuple[int, str]] = {}


def api_key_principal(raw_key: str, *, throttle_scopes: tuple[str, ...] = ()) -> tuple[Principal | None, Counts]:
    """The principal of a valid, active key (None for anything else: unknown, revoked, malformed),
    and the call counted in the client's counters of ``throttle_scopes``, in one cache round trip.

    Counts is empty when nothing was counted (a key new to this process, or no scopes).
    """
    prefix = key_prefix(raw_key)
    if prefix is None:
        return None, {}
    owner = _key_owners.get(prefix)
    counters: list[Counter] = []
    if owner is not None and throttle_scopes and key_matches(raw_key, owner[1]):
        now = time.time()
        counters = [c for scope in throttle_scopes if (c := _counter(scope, owner[0], now)) is not None]
    record, counts = _record_read(prefix, counters)
    if record is None or not key_matches(raw_key, record["key_hash"]):
        return None, {}
    _key_owners[prefix] = (record["client_id"], record["key_hash"])
    principal = Principal(
        client_id=record["client_id"],
        user_id=record["user_id"],
        roles=roles_at(record["roles"], record["premium_until"], time.time()),
        is_staff=record["is_staff"],
        via="api_key",
        api_key_id=record["key_id"],
        max_rating=record.get("max_rating") or None,  # records cached before the field existed have none
    )
    return principal, counts


def _record_read(prefix: str, counters: list[Counter]) -> tuple[KeyRecord | None, Counts]:
    """The key's record (from the cache, else from the database, then cached) and the call counted
    in ``counters``: one round trip on Redis when there is something to count."""
    counted = _read_and_count(_record_cache_key(prefix), counters) if counters else None
    counts: Counts = {}
    if counted is None:
        cached = cache.get(_record_cache_key(prefix))
    else:
        raw, counts = counted
        cached = None if raw is None else cast(Any, cache).client.decode(raw)  # django-redis's own decoding
    if cached == _MISSING:
        return None, counts
    if cached is not None:
        return cached, counts
    record = api_key_record(prefix=prefix)
    if record is None:
        cache.set(_record_cache_key(prefix), _MISSING, UNKNOWN_KEY_CACHE_SECONDS)
    else:
        cache.set(_record_cache_key(prefix), record, RECORD_CACHE_SECONDS)
    return record, counts


# --- is this client's JWT still good ------------------------------------------------------------

# The database has the truth; this only spares a query. Ten minutes bounds how long a revocation
# whose publish was lost (Redis out, then back with its data) could go unseen where no server
# noticed the outage to publish it again (credentials_republish).
CREDENTIALS_VERSION_CACHE_SECONDS = 600
# How far before the outage this process saw began to look for changes: another process may have
# lost its publish earlier (it saw Redis fail first), and clocks differ a little between hosts.
REPUBLISH_MARGIN_SECONDS = 300


def _version_cache_key(client_id: int) -> str:
    return f"accounts:client-cv:{client_id}"


def jwt_version_current(
    client_id: int, token_version: int, *, throttle_scopes: tuple[str, ...] = ()
) -> tuple[bool, Counts]:
    """Whether a JWT of ``client_id`` issued under ``token_version`` is still good (the client
    active, nothing revoked since), and the call counted in the client's ``throttle_scopes``: one
    Redis round trip, as for an API key. The version is cached; a miss reads the database once."""
    now = time.time()
    counters = [c for scope in throttle_scopes if (c := _counter(scope, client_id, now)) is not None]
    counted = _read_and_count(_version_cache_key(client_id), counters) if counters else None
    counts: Counts = {}
    if counted is None:
        cached = cache.get(_version_cache_key(client_id))
    else:
        raw, counts = counted
        cached = None if raw is None else cast(Any, cache).client.decode(raw)
    if cached is None:
        cached = client_credentials_version(client_id=client_id)
        # add, not set: a revocation committed meanwhile has set the new version; never overwrite it.
        cache.add(_version_cache_key(client_id), cached, CREDENTIALS_VERSION_CACHE_SECONDS)
    return int(cached) == token_version, counts


def credentials_version_remember(*, client_id: int, version: int) -> None:
    """Cache the version tokens are being issued under (unless one is cached already), so that the
    first call with them makes no query either."""
    cache.add(_version_cache_key(client_id), version, CREDENTIALS_VERSION_CACHE_SECONDS)


def credentials_version_publish(*, client_id: int) -> None:
    """Put the client's current credentials version (from the database) in the cache, so that
    every server refuses older JWTs from the next request on."""
    cache.set(
        _version_cache_key(client_id),
        client_credentials_version(client_id=client_id),
        CREDENTIALS_VERSION_CACHE_SECONDS,
    )


def credentials_republish(outage_seconds: float) -> None:
    """Redis is back after ``outage_seconds``: publish again the credentials of every client that
    changed meanwhile (their publish was lost) and forget their cached key records, so that a
    revocation made during the outage holds even if Redis came back with what it held before.
    Registered in AccountsConfig.ready as a recovery hook of config.cache.REDIS_OUTAGE."""
    since = datetime.now(UTC) - timedelta(seconds=outage_seconds + REPUBLISH_MARGIN_SECONDS)
    client_ids = clients_with_credentials_changed_since(since)
    for client_id in client_ids:
        credentials_version_publish(client_id=client_id)
        principal_cache_clear(client_id=client_id)
    logger.warning("redis back: credentials of %d clients changed since %s published again", len(client_ids), since)


def principal_cache_clear(*, client_id: int | None = None, prefixes: list[str] | None = None) -> None:
    """Forget cached key records so that a revocation or role change takes effect at once."""
    keys = [_record_cache_key(p) for p in prefixes or []]
    if client_id is not None:
        keys += [_record_cache_key(p) for p in api_key_prefixes(client_id=client_id)]
    if keys:
        cache.delete_many(keys)


# --- how many calls it has made -------------------------------------------------------------------


@functools.cache
def _parse_rate(rate: str) -> tuple[int, int]:
    """ "6000/min" → (6000, 60); parsed once per distinct rate string."""
    num_requests, duration = SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
    if num_requests is None or duration is None:
        raise ValueError(f"Invalid throttle rate {rate!r}; expected e.g. '6000/min'.")
    return num_requests, duration


def _counter(scope: str, client_id: int, now: float) -> Counter | None:
    # Read per call (a dict lookup), not at import, so override_settings works in tests.
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
    if not rate:
        return None
    limit, duration = _parse_rate(rate)
    window = int(now // duration)
    return Counter(scope, f"throttle:{scope}:{client_id}:{window}", limit, duration + 1, (window + 1) * duration)


def request_count(scope: str, client_id: int) -> tuple[Counter, int] | None:
    """Count one more call of ``client_id`` in its ``scope`` window; the counter and the count so
    far (None when the scope has no rate). For calls authentication did not count."""
    counter = _counter(scope, client_id, time.time())
    if counter is None:
        return None
    counted = _read_and_count(None, [counter])
    if counted is not None:
        return counter, counted[1][scope][1]
    # Other cache backends: add() creates the counter if absent, incr() is atomic where the backend is.
    cache.add(counter.key, 0, counter.timeout)
    try:
        return counter, cache.incr(counter.key)
    except ValueError:  # expired between add() and incr()
        cache.add(counter.key, 1, counter.timeout)
        return counter, 1


# --- the round trip ---------------------------------------------------------------------------------

# One Redis command: read the value at KEYS[1] if ARGV[1] is "1", then count the call in each
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


def _read_and_count(read_key: str | None, counters: list[Counter]) -> tuple[bytes | None, Counts] | None:
    """In one Redis round trip: the raw cached value at ``read_key`` (a cache key, before the
    cache's prefix; None: read nothing) and the call counted in each of ``counters``.
    None when the cache is not Redis.

    Redis unreachable: nothing read (the caller then reads the database) and the call counted in
    this process's own counters (:func:`_count_locally`), so the service keeps serving, still
    throttled, and goes back to Redis by itself once it answers again.
    """
    if not _cache_is_redis():
        return None
    if REDIS_OUTAGE.should_skip():
        return None, _count_locally(counters)
    keys = [] if read_key is None else [cache.make_and_validate_key(read_key)]
    keys += [cache.make_and_validate_key(counter.key) for counter in counters]
    args = ["0" if read_key is None else "1", *(counter.timeout for counter in counters)]
    try:
        redis = _redis()  # connects on a thread's first call: may fail too
        assert redis is not None
        raw, *counts = redis.evalsha_script(keys, args)
    except REDIS_UNAVAILABLE as exc:
        REDIS_OUTAGE.failed(exc)
        return None, _count_locally(counters)
    if REDIS_OUTAGE.answered():
        raw = None  # read before the recovery hooks republished what changed while Redis was out
    return raw, {counter.scope: (counter, int(count)) for counter, count in zip(counters, counts, strict=True)}


# --- when Redis is down ------------------------------------------------------------------------------
#
# Fail open, throttled locally: Redis holds only copies (key records, whose source is the database)
# and counters, so losing it must not stop paid calls or ingest, whose truth is in PostgreSQL. What
# is lost while it is down: one query per API-key call (the record read from the database) and the
# shared count: each process counts its own calls against the full limit, so a client can make at
# most the limit times the number of server processes in a window (bounded, never unthrottled).
# Whether Redis is out is config.cache.REDIS_OUTAGE, which every cache call of the process shares:
# a hung Redis costs its socket timeout once per retry period, not once per call.

_local_lock = threading.Lock()
_local_counts: dict[str, tuple[float, int]] = {}  # counter key -> (window end, count)


def _count_locally(counters: list[Counter]) -> Counts:
    """The call counted in this process's counters (same windows and limits as in Redis)."""
    now = time.time()
    counts: Counts = {}
    with _local_lock:
        if len(_local_counts) > 10_000:  # windows past: forget them
            for key in [k for k, (end, _) in _local_counts.items() if end < now]:
                del _local_counts[key]
        for counter in counters:
            count = _local_counts.get(counter.key, (counter.window_end, 0))[1] + 1
            _local_counts[counter.key] = (counter.window_end, count)
            counts[counter.scope] = (counter, count)
    return counts


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


@functools.cache
def _cache_is_redis() -> bool:
    return redis_client() is not None


def _redis() -> _ThreadRedis | None:
    local = _thread_redis
    if local.pid != os.getpid():
        shared = redis_client()
        local.client = local.script = None
        if shared is not None:
            # Connects now: when Redis is down this raises, and the next call tries again.
            client = Redis(connection_pool=shared.connection_pool, single_connection_client=True)
            # The pool probes a connection each time it hands it out; a kept one is not, so when
            # the server has closed it (restart, idle timeout) the next call fails on it: then
            # reconnect and send again, once. Not after a timeout: that call may have counted.
            assert client.connection is not None  # single_connection_client holds one
            client.connection.retry = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
            local.client, local.script = client, client.register_script(_READ_AND_COUNT)
        local.pid = os.getpid()
    return local if local.client is not None else None


def redis_client() -> Any:
    """The raw Redis client behind the default cache, or None when the cache is not Redis."""
    try:
        from django_redis import get_redis_connection

        return get_redis_connection("default")
    except (ImportError, NotImplementedError):
        return None
