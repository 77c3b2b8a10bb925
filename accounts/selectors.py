"""Reads: who a credential belongs to and what it may do, cached so that authenticating a request
costs no database query in the steady state."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from accounts.keys import key_matches, key_prefix
from accounts.models import ApiKey, Client, Subscription
from accounts.principal import Principal
from accounts.roles import GROUP_ROLES, PREMIUM_AI
from accounts.throttling import Counter, Counts, read_and_count

PRINCIPAL_CACHE_SECONDS = 300
LAST_USED_PRECISION_SECONDS = 60
_MISSING = "missing"


def _key_cache_key(prefix: str) -> str:
    return f"accounts:key:{prefix}"


def client_group_roles(*, client: Client) -> frozenset[str]:
    return frozenset(client.user.groups.filter(name__in=GROUP_ROLES).values_list("name", flat=True))


def premium_until(*, client: Client) -> float | None:
    """When the client's premium subscription ends (Unix time; ``inf`` if open-ended), or None
    when it has none active now. Carried in cached records and JWTs so that an expiry takes
    effect on time with no query."""
    now = timezone.now()
    ends = list(
        Subscription.objects.filter(client=client, plan=Subscription.PREMIUM_AI, starts_at__lte=now)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .values_list("ends_at", flat=True)
    )
    if not ends:
        return None
    return float("inf") if None in ends else max(e.timestamp() for e in ends if e is not None)


def client_roles(*, client: Client) -> frozenset[str]:
    """The roles a client holds now."""
    premium = premium_until(client=client) is not None
    return client_group_roles(client=client) | ({PREMIUM_AI} if premium else frozenset())


def roles_at(group_roles: frozenset[str] | list[str], premium_ends: float | None, now: float) -> frozenset[str]:
    """Roles from a cached record or token: premium only while its subscription runs."""
    roles = frozenset(group_roles)
    if premium_ends is not None and now < premium_ends:
        roles |= {PREMIUM_AI}
    return roles


_NOT_READ = object()


def _key_record(prefix: str, cached: Any = _NOT_READ) -> dict[str, Any] | None:
    """The cached record of the key with this prefix (``cached``: what the cache held, already
    read), loaded from the database and cached when the cache has none; None for no usable key."""
    if cached is _NOT_READ:
        cached = cache.get(_key_cache_key(prefix))
    if cached == _MISSING:
        return None
    if cached is not None:
        return cached
    api_key = (
        ApiKey.objects.select_related("client__user")
        .filter(prefix=prefix, revoked_at__isnull=True, client__is_active=True, client__user__is_active=True)
        .first()
    )
    if api_key is None:
        # Remember unknown prefixes briefly so a flood of bad keys does not become a flood of queries.
        cache.set(_key_cache_key(prefix), _MISSING, 60)
        return None
    client = api_key.client
    record = {
        "key_id": api_key.pk,
        "key_hash": api_key.key_hash,
        "client_id": client.pk,
        "user_id": client.user_id,
        "is_staff": client.user.is_staff,
        "roles": sorted(client_group_roles(client=client)),
        "premium_until": premium_until(client=client),
    }
    cache.set(_key_cache_key(prefix), record, PRINCIPAL_CACHE_SECONDS)
    return record


# prefix -> (client id, key hash) of keys this process has authenticated. A key never changes
# owner or hash, so this cannot go stale; it only tells whose requests to count up front.
_key_owners: dict[str, tuple[int, str]] = {}


def _key_record_counting(prefix: str, counters: list[Counter]) -> tuple[dict[str, Any] | None, Counts]:
    """The key's record, and the request counted in ``counters``, in one Redis round trip."""
    counted = read_and_count(_key_cache_key(prefix), counters) if counters else None
    if counted is None:
        return _key_record(prefix), {}
    raw, counts = counted
    cached = None if raw is None else cast(Any, cache).client.decode(raw)  # django-redis's own decoding
    return _key_record(prefix, cached), counts


def principal_for_api_key_counted(
    raw_key: str, counters_for: Callable[[int], list[Counter]]
) -> tuple[Principal | None, Counts]:
    """:func:`principal_for_api_key`, counting the request in the client's throttle counters
    (``counters_for(client_id)``) in the same cache round trip.

    Only requests that carry the key's secret are counted up front: a caller who knows a key's
    public prefix cannot spend its owner's limit. A key this process has not seen yet is
    authenticated first and left to the throttles to count.
    """
    prefix = key_prefix(raw_key)
    if prefix is None:
        return None, {}
    owner = _key_owners.get(prefix)
    counters = counters_for(owner[0]) if owner is not None and key_matches(raw_key, owner[1]) else []
    record, counts = _key_record_counting(prefix, counters)
    if record is None or not key_matches(raw_key, record["key_hash"]):
        return None, {}
    _key_owners[prefix] = (record["client_id"], record["key_hash"])
    _touch_last_used(record["key_id"])
    principal = Principal(
        client_id=record["client_id"],
        user_id=record["user_id"],
        roles=roles_at(record["roles"], record["premium_until"], time.time()),
        is_staff=record["is_staff"],
        via="api_key",
        api_key_id=record["key_id"],
    )
    return principal, counts


def principal_for_api_key(raw_key: str) -> Principal | None:
    """The principal of a valid, active key; None for anything else (unknown, revoked, malformed)."""
    return principal_for_api_key_counted(raw_key, lambda client_id: [])[0]


_last_touched: dict[int, float] = {}  # key id -> when this process last considered touching it


def _touch_last_used(key_id: int) -> None:
    # One UPDATE per key per minute at most: a write on every request would cost more than the
    # request itself, and "last used" only needs minute precision. The per-process stamp spares the
    # shared-cache round trip on all but one request a minute per key and process.
    now = time.monotonic()
    if now - _last_touched.get(key_id, -LAST_USED_PRECISION_SECONDS) < LAST_USED_PRECISION_SECONDS:
        return
    _last_touched[key_id] = now
    if cache.add(f"accounts:key-used:{key_id}", 1, LAST_USED_PRECISION_SECONDS):
        ApiKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())


def principal_cache_clear(*, client_id: int | None = None, prefixes: list[str] | None = None) -> None:
    """Forget cached credentials so that a revocation or role change takes effect at once."""
    keys = [_key_cache_key(p) for p in prefixes or []]
    if client_id is not None:
        keys += [_key_cache_key(p) for p in ApiKey.objects.filter(client_id=client_id).values_list("prefix", flat=True)]
    if keys:
        cache.delete_many(keys)


def client_for_login(*, raw_key: str | None = None, username: str | None = None) -> Client | None:
    """The active client behind an API key or a username (the caller checks the password)."""
    if raw_key is not None:
        principal = principal_for_api_key(raw_key)
        return Client.objects.select_related("user").filter(pk=principal.client_id).first() if principal else None
    return (
        Client.objects.select_related("user")
        .filter(user__username=username, is_active=True, user__is_active=True)
        .first()
    )
