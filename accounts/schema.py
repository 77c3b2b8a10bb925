"""OpenAPI descriptions of our authentication classes (drf-spectacular cannot infer them)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Token",
            "description": "An API key (`maas_…`). `Authorization: Api-Key <key>` works too.",
        }


class JwtScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ClientJWTAuthentication"
    name = "JWT"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from `POST /api/auth/token` (lives 5 minutes; refresh it).",
        }
