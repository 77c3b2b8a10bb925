from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.principal import Principal


class IsClient(BasePermission):
    """An authenticated API client (API key or JWT)."""

    message = "Authentication as an API client is required."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, Principal)


def role_required(role: str) -> type[BasePermission]:
    """A permission class that admits clients holding ``role``."""

    class HasRole(BasePermission):
        message = f"This operation needs the '{role}' role."
        required_role = role  # read by the schema (config/schema.py documents the 403)

        def has_permission(self, request: Request, view: Any) -> bool:
            return isinstance(request.auth, Principal) and request.auth.has_role(role)

    HasRole.__name__ = f"HasRole_{role.replace('.', '_')}"
    return HasRole
