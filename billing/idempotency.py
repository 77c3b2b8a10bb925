"""The ``Idempotency-Key`` header and the fingerprint of a request's parameters, for
:func:`billing.services.paid_request_read` (other apps go through that)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from rest_framework.exceptions import ValidationError

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, no spaces, as the IETF draft's examples


def idempotency_key_read(request: HttpRequest) -> str | None:
    """The request's ``Idempotency-Key``, None when absent; 400 when malformed."""
    raw = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if raw is None:
        return None
    key = raw.strip()
    if not _KEY_RE.match(key):
        raise ValidationError(
            {IDEMPOTENCY_HEADER: ["Must be 1 to 255 visible ASCII characters (a UUID is a good choice)."]},
            code="invalid_idempotency_key",
        )
    return key


def request_fingerprint(*, method: str, path: str, params: Mapping[str, Any]) -> str:
    """A stable hash of what the request asks for; the same key with another fingerprint is a 422.

    Pass the *validated* parameters, so that the same request spelt differently (parameter order,
    defaults left out) is recognised as the same request.
    """
    if hasattr(params, "lists"):  # a QueryDict: keep repeated parameters
        params = {name: sorted(values) for name, values in params.lists()}
    canonical = json.dumps([method.upper(), path, params], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
