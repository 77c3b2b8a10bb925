"""Reads: who a credential belongs to and what it may do, cached so that authenticating a request
costs no database query in the steady state."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.utils import timezone

from accounts.keys import key_matches, key_prefix
from accounts.models import ApiKey, Client
from accounts.principal import Principal

PRINCIPAL_CACHE_SECONDS = 300
_MISSING = "missing"


def _key_cache_key(prefix: str) -> str:
    return f"accounts:key:{prefix}"


def client_roles(*, client: Client) -> frozenset[str]:
    """The roles a client holds now: the names of its user's groups."""
    return frozenset(client.user.groups.values_list("name", flat=True))


def _key_record(prefix: str) -> dict[str, Any] | None:
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
        "roles": sorted(client_roles(client=client)),
    }
    cache.set(_key_cache_key(prefix), record, PRINCIPAL_CACHE_SECONDS)
    return record


def principal_for_api_key(raw_key: str) -> Principal | None:
    """The principal of a valid, active key; None for anything else (unknown, revoked, malformed)."""
    prefix = key_prefix(raw_key)
    if prefix is None:
        return None
    record = _key_record(prefix)
    if record is None or not key_matches(raw_key, record["key_hash"]):
        return None
    _touch_last_used(record["key_id"])
    return Principal(
        client_id=record["client_id"],
        user_id=record["user_id"],
        roles=frozenset(record["roles"]),
        is_staff=record["is_staff"],
        via="api_key",
        api_key_id=record["key_id"],
    )


def _touch_last_used(key_id: int) -> None:
    # One UPDATE per key per minute at most: a write on every request would cost more than the
    # request itself, and "last used" only needs minute precision.
    if cache.add(f"accounts:key-used:{key_id}", 1, 60):
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
