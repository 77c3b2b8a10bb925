"""The Redis cache, failing fast while Redis is out.

A Redis that refuses connections costs a call microseconds; one that hangs (stopped by the kernel,
a partitioned network, a full backlog) costs every call its socket timeout, 2 s. Without this, every
cache read on the paid path (key record, PNG, search result) waited that long while Redis hung, and
a request made several: a hung cache stalled the whole API although nothing it holds is the truth.

:data:`REDIS_OUTAGE` is this process's view of Redis: after a failure, calls skip Redis (a read is
a miss, a write is dropped, as ``IGNORE_EXCEPTIONS`` makes a failure) and one call every
:attr:`RedisOutage.RETRY_SECONDS` tries it again. The throttle path (``accounts.credentials``)
shares it, so a process pays the timeout at most once per retry period, whatever its traffic.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Redis itself is unreachable; a ResponseError (a bad command, a script error) is not an outage.
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError)


class RedisOutage:
    """Whether Redis is believed out, and when to try it again (one process, every thread)."""

    RETRY_SECONDS = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since = 0.0  # monotonic time of the first failure; 0: Redis answers
        self._retry_at = 0.0
        self._on_recovery: list[Callable[[float], None]] = []

    def on_recovery(self, hook: Callable[[float], None]) -> None:
        """Call ``hook(outage_seconds)`` when Redis answers again after an outage (first answer)."""
        self._on_recovery.append(hook)

    def should_skip(self) -> bool:
        """True while out, except for one caller per retry period, who tries Redis again."""
        if not self.since:
            return False
        with self._lock:
            now = time.monotonic()
            if now < self._retry_at:
                return True
            self._retry_at = now + self.RETRY_SECONDS  # this caller probes; the others keep skipping
            return False

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            now = time.monotonic()
            first = not self.since
            if first:
                self.since = now
            self._retry_at = now + self.RETRY_SECONDS
        if first:
            logger.warning(
                "redis unavailable error=%s: cache skipped, throttles counted in this process, "
                "trying again every %.0fs",
                type(exc).__name__,
                self.RETRY_SECONDS,
            )

    def answered(self) -> bool:
        """Redis answered. True when that ended an outage (after the recovery hooks ran)."""
        if not self.since:
            return False
        with self._lock:
            if not self.since:
                return False
            lasted = time.monotonic() - self.since
            self.since = self._retry_at = 0.0
        logger.warning("redis reachable again after %.1fs: cache and shared throttle counters back", lasted)
        for hook in self._on_recovery:
            try:
                hook(lasted)
            except Exception:  # a hook must not fail the call that noticed the recovery
                logger.exception("redis recovery hook %s failed", getattr(hook, "__qualname__", hook))
        return True


REDIS_OUTAGE = RedisOutage()

# The client methods that talk to Redis (django_redis 6), as the cache backend calls them.
_COMMANDS = (
    "set", "add", "get", "persist", "expire", "pexpire", "pexpire_at", "expire_at", "delete", "delete_pattern",
    "delete_many", "clear", "get_many", "set_many", "incr", "decr", "ttl", "pttl", "has_key", "touch", "incr_version",
)  # fmt: skip
_depth = threading.local()  # a command calling another (set_many → set) is one call


def _fail_fast(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def command(self: DefaultClient, *args: Any, **kwargs: Any) -> Any:
        if getattr(_depth, "value", 0):
            return method(self, *args, **kwargs)
        if REDIS_OUTAGE.should_skip():
            raise ConnectionInterrupted(connection=None)  # the cache's IGNORE_EXCEPTIONS: a miss
        _depth.value = 1
        try:
            result = method(self, *args, **kwargs)
        except ConnectionInterrupted as exc:
            if isinstance(exc.__cause__, REDIS_UNAVAILABLE):
                REDIS_OUTAGE.failed(exc.__cause__)
            raise
        finally:
            _depth.value = 0
        if REDIS_OUTAGE.answered() and method.__name__ in ("get", "get_many"):
            # What was read may predate a revocation made while Redis was out; the recovery hooks
            # have republished those, so read again.
            _depth.value = 1
            try:
                result = method(self, *args, **kwargs)
            finally:
                _depth.value = 0
        return result

    return command


class FailFastClient(DefaultClient):
    """django_redis's client, skipping Redis while :data:`REDIS_OUTAGE` says it is out."""


for _name in _COMMANDS:
    setattr(FailFastClient, _name, _fail_fast(getattr(DefaultClient, _name)))
