"""Per-client request limit (429 with ``Retry-After``), counted in the shared cache.

An API-key call is usually counted already, in authentication's one Redis round trip
(``accounts.credentials``): authentication passes the view's client scopes
(:func:`client_throttle_scopes`) and leaves the counts on the request (:func:`counts_keep`). The
throttle takes them from there, and counts the call itself only when authentication did not (a
JWT, or a key this process has not seen yet).
"""

from __future__ import annotations

import math
import time
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.credentials import Counts, request_count
from accounts.principal import Principal

_COUNTS_ATTRIBUTE = "client_throttle_counts"


class ClientRateThrottle(BaseThrottle):
    """Limits each API client (by client id, whatever key or token it uses) to the ``client`` rate.

    Requests that are not from a client (health probes, login) are left to their own throttles.
    """

    scope = "client"

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal):
            return True
        counted = getattr(request, _COUNTS_ATTRIBUTE, {}).pop(self.scope, None)
        if counted is None:  # not counted during authentication
            counted = request_count(self.scope, principal.client_id)
            if counted is None:  # no rate for this scope
                return True
        counter, count = counted
        if count <= counter.limit:
            return True
        self._wait = counter.window_end - time.time()
        return False

    def wait(self) -> float | None:
        return math.ceil(self._wait) if self._wait is not None else None


def client_throttle_scopes(view: Any) -> tuple[str, ...]:
    """The scopes of ``view``'s client throttles: what authentication counts a call in up front."""
    get_throttles = getattr(view, "get_throttles", None)
    if get_throttles is None:
        return ()
    return tuple(throttle.scope for throttle in get_throttles() if isinstance(throttle, ClientRateThrottle))


def counts_keep(request: Request, counts: Counts) -> None:
    """Leave counts made during authentication for the request's throttles."""
    if counts:
        setattr(request, _COUNTS_ATTRIBUTE, counts)
