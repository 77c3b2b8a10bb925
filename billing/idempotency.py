"""The ``Idempotency-Key`` header and the fingerprint of a request's parameters, for
:func:`billing.services.paid_request_read` (other apps go through that)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# The header rule is shared with ingest (config.idempotency); re-exported for paid_calls.
from config.idempotency import IDEMPOTENCY_HEADER, idempotency_key_read

__all__ = ["IDEMPOTENCY_HEADER", "idempotency_key_read", "request_fingerprint"]


def request_fingerprint(*, method: str, path: str, params: Mapping[str, Any]) -> str:
    """A stable hash of what the request asks for; the same key with another fingerprint is a 422.

    Pass the *validated* parameters, so that the same request spelt differently (parameter order,
    defaults left out) is recognised as the same request.
    """
    if hasattr(params, "lists"):  # a QueryDict: keep repeated parameters
        params = {name: sorted(values) for name, values in params.lists()}
    canonical = json.dumps([method.upper(), path, params], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
