"""Writes for clients, keys and JWTs."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import events
from accounts.credentials import credentials_version_publish, credentials_version_remember, principal_cache_clear
from accounts.keys import key_generate, key_hash, key_prefix
from accounts.models import ApiKey, Client, Subscription
from accounts.roles import ALL_ROLES, GROUP_ROLES, PREMIUM_AI
from accounts.selectors import api_key_find, client_for_username, client_group_roles, premium_until

LAST_USED_PRECISION_SECONDS = 60

logger = logging.getLogger(__name__)


class UnknownRole(ValueError):
    pass


@transaction.atomic
def client_create(*, name: str, roles: Iterable[str] = (), password: str | None = None, max_rating: str = "") -> Client:
    """Create a client (and its Django user) holding ``roles``, served at most ``max_rating`` ("" = no limit)."""
    user = get_user_model().objects.create_user(username=name, password=password)
    client = Client.objects.create(user=user, name=name, max_rating=max_rating)
    client_roles_set(client=client, roles=roles)
    return client


def client_roles_set(*, client: Client, roles: Iterable[str]) -> None:
    """Grant exactly ``roles``: groups for the group roles, an open-ended subscription for premium."""
    roles = set(roles)
    unknown = roles - set(ALL_ROLES)
    if unknown:
        raise UnknownRole(f"Unknown role(s): {', '.join(sorted(unknown))}. Known: {', '.join(ALL_ROLES)}.")
    # get_or_create: the groups come from a data migration, but a flushed database has none.
    groups = [Group.objects.get_or_create(name=name)[0] for name in sorted(roles & set(GROUP_ROLES))]
    client.user.groups.set(groups)  # the m2m signal clears the cached credentials
    has_premium = premium_until(client=client) is not None
    if PREMIUM_AI in roles and not has_premium:
        subscription_grant(client=client)
    elif PREMIUM_AI not in roles and has_premium:
        subscription_revoke(client=client)


def subscription_grant(*, client: Client, ends_at: datetime | None = None, note: str = "") -> Subscription:
    subscription = Subscription.objects.create(client=client, plan=Subscription.PREMIUM_AI, ends_at=ends_at, note=note)
    principal_cache_clear(client_id=client.pk)
    return subscription


def subscription_revoke(*, client: Client) -> int:
    """End every running premium subscription of ``client`` now; returns how many were ended."""
    now = timezone.now()
    ended = (
        Subscription.objects.filter(client=client, plan=Subscription.PREMIUM_AI, starts_at__lte=now)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .update(ends_at=now)
    )
    # Not started yet: drop them (ends_at must stay after starts_at).
    Subscription.objects.filter(client=client, plan=Subscription.PREMIUM_AI, starts_at__gt=now).delete()
    principal_cache_clear(client_id=client.pk)
    return ended


@transaction.atomic
def api_key_create(*, client: Client, name: str = "") -> tuple[ApiKey, str]:
    """Create a key; return it with the raw key, which is never stored and cannot be shown again."""
    prefix, raw_key = key_generate()
    api_key = ApiKey.objects.create(client=client, name=name, prefix=prefix, key_hash=key_hash(raw_key))
    principal_cache_clear(prefixes=[prefix])
    _key_event(events.api_key_created, api_key)
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    """Revoke the key, and every JWT of its client with it: a JWT does not say which key minted
    it, and a leaked key's tokens must stop with the key. The client's other keys keep working
    (their holders obtain new tokens)."""
    with transaction.atomic():
        if api_key.revoked_at is None:
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
            _key_event(events.api_key_revoked, api_key)
        client_credentials_revoke(client_id=api_key.client_id)
    principal_cache_clear(prefixes=[api_key.prefix])


def _key_event(signal: Any, api_key: ApiKey) -> None:
    details = {"client_id": api_key.client_id, "key_id": api_key.pk, "prefix": api_key.prefix, "name": api_key.name}
    transaction.on_commit(lambda: signal.send(sender=ApiKey, **details))


def client_credentials_revoke(*, client_id: int) -> None:
    """Refuse every JWT (access and refresh) issued to the client so far, from the next request on,
    on every server: its credentials version goes up, in the database and then in the cache."""
    Client.objects.filter(pk=client_id).update(
        credentials_version=F("credentials_version") + 1, credentials_changed_at=timezone.now()
    )
    transaction.on_commit(lambda: credentials_version_publish(client_id=client_id))
    principal_cache_clear(client_id=client_id)


@transaction.atomic
def client_deactivate(*, client: Client) -> None:
    """Deactivate the client: its API keys and its JWTs stop at once (its data and ledger stay)."""
    if client.is_active:
        client.is_active = False
        client.save(update_fields=["is_active"])
    client_credentials_revoke(client_id=client.pk)
    client.refresh_from_db(fields=["credentials_version"])


_last_stamped: dict[int, float] = {}  # key id -> when this process last considered stamping it


def api_key_used(*, key_id: int) -> None:
    """Stamp the key's ``last_used_at``: at most one UPDATE per key per minute, across processes.

    A write on every call would cost more than the call itself, and "last used" only needs minute
    precision. The per-process stamp spares the shared-cache round trip on all but one call a
    minute per key and process.
    """
    now = time.monotonic()
    if now - _last_stamped.get(key_id, -LAST_USED_PRECISION_SECONDS) < LAST_USED_PRECISION_SECONDS:
        return
    _last_stamped[key_id] = now
    if cache.add(f"accounts:key-used:{key_id}", 1, LAST_USED_PRECISION_SECONDS):
        try:
            ApiKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())
        except (OperationalError, InterfaceError):
            # A bookkeeping stamp must never fail the call it stamps: the call itself decides
            # whether it needs the database (ingest does, and answers its own 503).
            logger.info("last-used stamp skipped: database unavailable key_id=%s", key_id)


def _token_pair(client: Client) -> dict[str, Any]:
    refresh = RefreshToken.for_user(client.user)
    # Claims copied into every access token derived from this refresh token: the request is then
    # authorized from the token alone, with no database query.
    refresh["client_id"] = client.pk
    refresh["roles"] = sorted(client_group_roles(client=client))
    # premium_ai is granted at request time while now < premium_until, so an access token stops
    # carrying it the moment the subscription ends, not at its own expiry.
    ends = premium_until(client=client)
    refresh["premium_until"] = None if ends is None else ("never" if ends == float("inf") else ends)
    refresh["staff"] = client.user.is_staff
    refresh["cv"] = client.credentials_version  # a revocation raises it: older tokens refused
    credentials_version_remember(client_id=client.pk, version=client.credentials_version)
    refresh["max_rating"] = client.max_rating or None  # the operator's ceiling travels with the token
    access = refresh.access_token
    return {
        "access": str(access),
        "refresh": str(refresh),
        "token_type": "Bearer",
        "expires_in": int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
    }


class LoginLockedOut(AuthenticationFailed):
    """Too many failed logins from this address (django-axes): 429 until the cool-off ends."""

    status_code = 429
    default_code = "login_locked_out"
    default_detail = "Too many failed logins from this address; retry later."

    def __init__(self) -> None:
        super().__init__()
        self.wait = int(settings.AXES_COOLOFF_TIME.total_seconds())  # DRF's handler: Retry-After


def tokens_obtain(
    *,
    raw_key: str | None = None,
    username: str | None = None,
    password: str = "",
    request: HttpRequest | None = None,
) -> dict[str, Any]:
    """A token pair for an active API key, or for a username and its password; 401 otherwise.

    With ``request``, failures count towards django-axes' per-address lockout (as the admin's
    login does), and a locked-out address gets 429 before any credential is checked.
    """
    credentials = {"username": username if username is not None else (key_prefix(raw_key or "") or "api-key")}
    if request is not None and not AxesProxyHandler.is_allowed(request, credentials):
        raise LoginLockedOut()
    client = _tokens_client(raw_key=raw_key, username=username, password=password)
    if client is None:
        if request is not None:
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        raise AuthenticationFailed("Invalid credentials.", code="invalid_credentials")
    return _token_pair(client)


def _tokens_client(*, raw_key: str | None, username: str | None, password: str) -> Client | None:
    client = None
    if raw_key is not None:
        api_key = api_key_find(raw_key=raw_key)
        if api_key is not None:
            api_key_used(key_id=api_key.pk)
            client = api_key.client
    elif username is not None:
        client = client_for_username(username=username)
        if client is not None and not client.user.check_password(password):
            client = None
    return client


def tokens_refresh(*, raw_refresh: str) -> dict[str, Any]:
    """Rotate a refresh token: blacklist it and issue a new pair with the roles re-read now.

    A revoked subscription therefore disappears at the next refresh, and a stolen refresh token
    works at most once.
    """
    try:
        # Checks signature, expiry, type and the blacklist (the stubs type the argument too narrowly).
        refresh = RefreshToken(raw_refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        raise AuthenticationFailed(str(exc), code="token_not_valid") from exc
    with transaction.atomic():
        # Lock the outstanding-token row: two concurrent refreshes with the same token would
        # otherwise both pass the blacklist check and both get a new pair.
        outstanding = OutstandingToken.objects.select_for_update().filter(jti=refresh["jti"]).first()
        if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
            raise AuthenticationFailed("Token is blacklisted", code="token_not_valid")
        client = Client.objects.select_related("user").filter(user_id=refresh.get("user_id")).first()
        if client is None or not client.is_active or not client.user.is_active:
            raise AuthenticationFailed("No active client for this token.", code="no_active_account")
        if int(refresh.get("cv", 1)) != client.credentials_version:
            raise AuthenticationFailed("Token revoked.", code="token_revoked")
        BlacklistedToken.objects.create(token=outstanding)
        return _token_pair(client)


@transaction.atomic
def client_personal_data_erase(*, client_id: int) -> str:
    """Erase what identifies a client and lock it out, keeping its row (and id) so the books that
    reference it still add up; returns the pseudonym it is known by from now on.

    The name and username become ``erased-<id>``; e-mail and names are emptied; the password is made
    unusable; client and user are deactivated; every key is revoked and loses its name; every
    refresh token is blacklisted; its credentials version goes up, so an access JWT already issued
    stops at once too.
    """
    client = Client.objects.select_for_update().select_related("user").get(pk=client_id)
    pseudonym = f"erased-{client.pk}"
    user = client.user
    user.username = pseudonym
    for field in ("email", "first_name", "last_name"):
        if hasattr(user, field):
            setattr(user, field, "")
    user.set_unusable_password()
    user.is_active = False
    user.is_staff = user.is_superuser = False
    user.save()
    user.groups.clear()
    client.name = pseudonym
    client.is_active = False
    client.save(update_fields=["name", "is_active"])
    for api_key in ApiKey.objects.filter(client=client, revoked_at__isnull=True):
        api_key_revoke(api_key=api_key)
    ApiKey.objects.filter(client=client).update(name="")
    Subscription.objects.filter(client=client).update(note="")
    for token in OutstandingToken.objects.filter(user=user):
        BlacklistedToken.objects.get_or_create(token=token)
    client_credentials_revoke(client_id=client.pk)
    return pseudonym


def api_key_revoke_own(*, client_id: int, key_id: int) -> bool:
    """Revoke the client's key ``key_id``; False when the client has no such key (another's is none)."""
    api_key = ApiKey.objects.filter(client_id=client_id, pk=key_id).first()
    if api_key is None:
        return False
    api_key_revoke(api_key=api_key)
    return True
