from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from accounts.principal import principal_of
from accounts.serializers import (
    TokenObtainInputSerializer,
    TokenPairSerializer,
    TokenRefreshInputSerializer,
    WhoAmISerializer,
)
from accounts.services import tokens_obtain, tokens_refresh
from config.proxies import client_ip

_ERRORS = {
    400: OpenApiResponse(description="Invalid input"),
    401: OpenApiResponse(description="Bad credentials"),
    429: OpenApiResponse(
        description="`throttled`: too many attempts from this address (`Retry-After`); "
        "`login_locked_out`: too many failed logins from it (django-axes)"
    ),
}


class LoginThrottle(AnonRateThrottle):
    scope = "login"

    def get_ident(self, request: Request) -> str:
        # Not DRF's, which takes X-Forwarded-For from anyone: a varying header skipped the limit.
        return client_ip(request)


class _CredentialsApi(APIView):
    """Token endpoints authenticate no one, but a bad credential must still be a 401: DRF answers
    403 instead when a view offers no authentication challenge, so offer one."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class TokenObtainApi(_CredentialsApi):
    @extend_schema(
        summary="Exchange an API key (or username and password) for JWT access and refresh tokens",
        request=TokenObtainInputSerializer,
        responses={200: TokenPairSerializer, **_ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        params = TokenObtainInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return Response(
            tokens_obtain(
                raw_key=data.get("api_key"),
                username=data.get("username"),
                password=data.get("password", ""),
                request=request._request,
            )
        )


class TokenRefreshApi(_CredentialsApi):
    @extend_schema(
        summary="Rotate a refresh token: new access + refresh tokens, roles re-read now",
        request=TokenRefreshInputSerializer,
        responses={200: TokenPairSerializer, **_ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        params = TokenRefreshInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return Response(tokens_refresh(raw_refresh=params.validated_data["refresh"]))


class WhoAmIApi(APIView):
    @extend_schema(
        summary="Who the credentials belong to, and the roles they carry",
        responses={
            200: WhoAmISerializer,
            401: OpenApiResponse(
                description="Missing or invalid credentials (`token_revoked`: its client was "
                "deactivated, deleted or had a key revoked)"
            ),
            429: OpenApiResponse(description="Too many requests from this client; see Retry-After"),
        },
        tags=["auth"],
    )
    def get(self, request: Request) -> Response:
        principal = principal_of(request)
        return Response(
            {"client_id": principal.client_id, "roles": sorted(principal.roles), "authenticated_via": principal.via}
        )
