"""Who is calling: what the authentication classes put in ``request.auth``.

Built from the cache (API keys) or from the JWT claims alone, so authorizing a request costs no
database query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Principal:
    client_id: int
    user_id: int
    roles: frozenset[str]
    is_staff: bool
    via: Literal["api_key", "jwt"]
    api_key_id: int | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles
