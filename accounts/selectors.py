"""Reads: who a credential belongs to and what it may do. Pure reads: ``accounts.credentials``
caches what authentication needs of a key, and writes live in ``accounts.services``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.keys import key_matches, key_prefix
from accounts.models import ApiKey, Client, Subscription
from accounts.principal import Principal
from accounts.roles import GROUP_ROLES, PREMIUM_AI


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


class KeyRecord(TypedDict):
    """What authentication needs of an active API key; ``accounts.credentials`` caches it."""

    key_id: int
    key_hash: str
    client_id: int
    user_id: int
    is_staff: bool
    roles: list[str]  # the group roles
    premium_until: float | None  # see premium_until()
    max_rating: str  # the operator's content ceiling; "" for none


def _active_api_keys() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("client__user").filter(
        revoked_at__isnull=True, client__is_active=True, client__user__is_active=True
    )


def api_key_record(*, prefix: str) -> KeyRecord | None:
    """The record of the active key with this prefix (its client and user active too), else None."""
    api_key = _active_api_keys().filter(prefix=prefix).first()
    if api_key is None:
        return None
    client = api_key.client
    return {
        "key_id": api_key.pk,
        "key_hash": api_key.key_hash,
        "client_id": client.pk,
        "user_id": client.user_id,
        "is_staff": client.user.is_staff,
        "roles": sorted(client_group_roles(client=client)),
        "premium_until": premium_until(client=client),
        "max_rating": client.max_rating,
    }


def api_key_find(*, raw_key: str) -> ApiKey | None:
    """The active key ``raw_key`` is, with its client and user loaded; None for anything else."""
    prefix = key_prefix(raw_key)
    api_key = _active_api_keys().filter(prefix=prefix).first() if prefix is not None else None
    return api_key if api_key is not None and key_matches(raw_key, api_key.key_hash) else None


def api_key_prefixes(*, client_id: int) -> list[str]:
    """The prefixes of every key of the client, revoked or not."""
    return list(ApiKey.objects.filter(client_id=client_id).values_list("prefix", flat=True))


def client_exists(*, client_id: int) -> bool:
    return Client.objects.filter(pk=client_id).exists()


def client_by_name(*, name: str) -> Client | None:
    return Client.objects.filter(name=name).first()


def client_for_username(*, username: str) -> Client | None:
    """The active client of this username, its user loaded (the caller checks the password)."""
    return (
        Client.objects.select_related("user")
        .filter(user__username=username, is_active=True, user__is_active=True)
        .first()
    )


CREDENTIALS_REVOKED = -1  # the credentials version of a client that is gone or inactive: matches no token


def client_credentials_version(*, client_id: int) -> int:
    """The version a JWT of ``client_id`` must carry to be accepted now: the client's
    ``credentials_version`` while it and its user are active, else :data:`CREDENTIALS_REVOKED`."""
    version = (
        Client.objects.filter(pk=client_id, is_active=True, user__is_active=True)
        .values_list("credentials_version", flat=True)
        .first()
    )
    return CREDENTIALS_REVOKED if version is None else int(version)


def clients_with_credentials_changed_since(since: datetime) -> list[int]:
    """Ids of the clients whose credentials changed at or after ``since`` (deleted ones excepted)."""
    return list(Client.objects.filter(credentials_changed_at__gte=since).values_list("pk", flat=True))


def client_profile_export(*, client_id: int) -> dict[str, Any]:
    """Everything accounts stores about a client, for a data export: profile, roles, subscriptions,
    and each API key's metadata (never a key: only its hash is stored, and that is not exported)."""
    client = Client.objects.select_related("user").get(pk=client_id)
    user = client.user
    return {
        "client": {
            "id": client.pk,
            "name": client.name,
            "is_active": client.is_active,
            "created_at": client.created_at,
        },
        "user": {
            "username": user.get_username(),
            "email": getattr(user, "email", ""),
            "first_name": getattr(user, "first_name", ""),
            "last_name": getattr(user, "last_name", ""),
            "is_active": user.is_active,
            "is_staff": user.is_staff,
            "date_joined": getattr(user, "date_joined", None),
            "last_login": user.last_login,
        },
        "roles": sorted(client_group_roles(client=client)),
        "subscriptions": list(
            Subscription.objects.filter(client=client).values("plan", "starts_at", "ends_at", "note", "created_at")
        ),
        "api_keys": list(
            ApiKey.objects.filter(client=client).values("prefix", "name", "created_at", "last_used_at", "revoked_at")
        ),
    }


def client_for_user(*, user_id: int) -> Client | None:
    """The active client a signed-in (portal) user is; None for an operator without one."""
    return Client.objects.filter(user_id=user_id, is_active=True, user__is_active=True).first()


def api_keys_of(*, client_id: int) -> list[ApiKey]:
    """The client's keys, newest first, revoked ones included (the portal lists them)."""
    return list(ApiKey.objects.filter(client_id=client_id).order_by("-created_at", "-id"))


def portal_principal(*, client: Client) -> Principal:
    """The caller the portal acts as, for the paid steps it shares with the API (the playground)."""
    return Principal(
        client_id=client.pk,
        user_id=client.user_id,
        roles=client_roles(client=client),
        is_staff=client.user.is_staff,
        via="portal",
    )
