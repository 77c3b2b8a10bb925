"""Who is calling: what the authentication classes put in ``request.auth``.

Built from the cache (API keys) or from the JWT claims alone, so authorizing a request costs no
database query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Principal:
    client_id: int
    user_id: int
    roles: frozenset[str]
    is_staff: bool
    via: Literal["api_key", "jwt", "portal"]
    api_key_id: int | None = None
    max_rating: str | None = None  # the operator's ceiling for this client (None: no limit)

    def has_role(self, role: str) -> bool:
        return role in self.roles


def principal_of(request: Any) -> Principal:
    """The caller of a view guarded by ``IsClient`` (or a role permission): typed, and checked."""
    principal = request.auth
    if not isinstance(principal, Principal):  # a view forgot its permission class: fail loudly
        raise TypeError("principal_of() needs a request authenticated as an API client")
    return principal
