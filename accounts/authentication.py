"""DRF authentication: API keys (``X-Token`` or ``Authorization: Api-Key``) and JWT bearer tokens.

Both put a :class:`~accounts.principal.Principal` in ``request.auth`` and a :class:`ClientUser`
(no database row loaded) in ``request.user``. An API-key call reads the key and counts the call
for the view's throttles in one cache round trip (``accounts.credentials``); a JWT call reads its
client's credentials version (revoked tokens refused at once) and counts the call in one round
trip too.
"""

from __future__ import annotations

import time
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import Token

from accounts.credentials import api_key_principal, jwt_version_current
from accounts.principal import Principal
from accounts.selectors import roles_at
from accounts.services import api_key_used
from accounts.throttling import client_throttle_scopes, counts_keep


class ClientUser:
    """What ``request.user`` is for an API call: enough for permissions and throttles."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.id = self.pk = principal.user_id
        self.client_id = principal.client_id
        self.is_staff = principal.is_staff

    def __str__(self) -> str:
        return f"client {self.client_id}"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ClientUser, Principal] | None:
        raw_key = request.META.get("HTTP_X_TOKEN")
        if raw_key is None:
            scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
            if scheme.lower() != "api-key":
                return None
            raw_key = value
        view = (request.parser_context or {}).get("view")
        principal, counts = api_key_principal(raw_key.strip(), throttle_scopes=client_throttle_scopes(view))
        if principal is None:
            raise AuthenticationFailed("Invalid API key: unknown, revoked or malformed.", code="invalid_api_key")
        assert principal.api_key_id is not None  # an API-key principal names its key
        api_key_used(key_id=principal.api_key_id)
        counts_keep(request, counts)  # the throttles' counts, made in the same round trip
        return ClientUser(principal), principal

    def authenticate_header(self, request: Request) -> str:
        return 'Api-Key realm="api"'


def _premium_ends(claim: Any) -> float | None:
    if claim is None:
        return None
    return float("inf") if claim == "never" else float(claim)


class ClientJWTAuthentication(JWTAuthentication):
    """Stateless JWT: the client and its roles come from the access token's claims."""

    def authenticate(self, request: Request) -> tuple[ClientUser, Principal] | None:  # type: ignore[override]
        result: tuple[Any, Token] | None = super().authenticate(request)
        if result is None:
            return None
        token = result[1]
        try:
            principal = Principal(
                client_id=int(token["client_id"]),
                user_id=int(token["user_id"]),
                roles=roles_at(token.get("roles", []), _premium_ends(token.get("premium_until")), time.time()),
                is_staff=bool(token.get("staff", False)),
                via="jwt",
                max_rating=token.get("max_rating") or None,
            )
            # Tokens from before versions existed carry none: they were issued under the first.
            token_version = int(token.get("cv", 1))
        except (KeyError, TypeError, ValueError) as exc:
            raise AuthenticationFailed("Token carries no client.", code="token_not_valid") from exc
        view = (request.parser_context or {}).get("view")
        current, counts = jwt_version_current(
            principal.client_id, token_version, throttle_scopes=client_throttle_scopes(view)
        )
        if not current:
            raise AuthenticationFailed(
                "Token revoked: its client was deactivated, deleted or had its credentials revoked.",
                code="token_revoked",
            )
        counts_keep(request, counts)  # counted in the same round trip as the version read
        return ClientUser(principal), principal

    def get_user(self, validated_token: Token) -> Any:  # no database lookup: claims are enough
        return None
