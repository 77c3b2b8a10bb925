"""The ``Idempotency-Key`` header: one rule, one error and one schema parameter for every endpoint
that takes it (ingest and the paid meme calls), so that the same bad key gets the same 400 everywhere."""

from __future__ import annotations

import re

from django.http import HttpRequest
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = 255
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # visible ASCII, no spaces, as the IETF draft's examples
_KEY_RE = re.compile(IDEMPOTENCY_KEY_PATTERN)
IDEMPOTENCY_RULE = "Must be 1 to 255 visible ASCII characters (a UUID is a good choice)."

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    # The rule as a schema too, so that generated clients and schema-driven tests send valid keys.
    {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX, "pattern": IDEMPOTENCY_KEY_PATTERN},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        f"Optional. {IDEMPOTENCY_RULE} Surrounding whitespace is ignored; anything else is a 400 "
        "(`invalid_idempotency_key`). A retry with the same key is answered as the first request was "
        "and has its effect once."
    ),
)


def idempotency_key_read(request: HttpRequest) -> str | None:
    """The request's ``Idempotency-Key``, None when absent; 400 when malformed."""
    raw = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if raw is None:
        return None
    key = raw.strip()
    if not _KEY_RE.match(key):
        raise ValidationError({IDEMPOTENCY_HEADER: [IDEMPOTENCY_RULE]}, code="invalid_idempotency_key")
    return key
