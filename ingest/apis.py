"""``POST /api/ingest`` and ``GET /api/ingest/{id}``.

The POST view reads and checks the raw body itself instead of DRF's ``request.data``: the checks
must happen in a fixed order (415, then 413 without reading past the limit, then 400 for
non-JSON, then every field rule at once) and the parser must be strict where ``json`` is lax.
"""

from __future__ import annotations

import time
import uuid

from django.http import HttpRequest
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import role_required
from accounts.principal import principal_of
from accounts.roles import INGEST
from accounts.throttling import ClientRateThrottle
from config.idempotency import IDEMPOTENCY_PARAMETER, idempotency_key_read
from ingest.conf import ingest_setting
from ingest.exceptions import (
    BadContentLength,
    InvalidJson,
    LengthRequired,
    NotAnObject,
    PayloadTooLarge,
    UnsupportedContentType,
)
from ingest.selectors import record_status
from ingest.services import record_accept
from ingest.validation import (
    EXAMPLE_RECORD,
    PRIORITY_MAX,
    PRIORITY_MIN,
    REQUIRED,
    SENDER_MAX_LENGTH,
    BodyNotJson,
    BodyNotObject,
    RecordInvalid,
    Rules,
    record_parse,
)

_READ_CHUNK = 64 * 1024


def body_read(request: HttpRequest, *, limit: int) -> bytes:
    """The request body, refusing (413) anything over ``limit`` bytes without reading past it."""
    raw_length = request.META.get("CONTENT_LENGTH")
    if raw_length:
        if not (raw_length.isascii() and raw_length.isdigit()):
            raise BadContentLength()
        if int(raw_length) > limit:
            raise PayloadTooLarge(details={"limit_bytes": limit})
        stream = request  # Django's stream stops at Content-Length
    elif "wsgi.input" in request.META and request.META.get("HTTP_TRANSFER_ENCODING"):
        # A chunked body on WSGI: Django sees it as empty (no Content-Length). Servers that decode
        # chunking (granian, gunicorn) say so with wsgi.input_terminated; read it ourselves.
        if not request.META.get("wsgi.input_terminated"):
            raise LengthRequired()
        stream = request.META["wsgi.input"]
    else:
        stream = request  # no body, or ASGI (Django has buffered the whole body)
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise PayloadTooLarge(details={"limit_bytes": limit})
    return b"".join(chunks)


def _check_content_type(request: HttpRequest) -> None:
    charset = request.content_params.get("charset") if request.content_params else None
    if (request.content_type or "").lower() != "application/json" or (
        charset is not None and charset.lower() not in ("utf-8", "utf8")
    ):
        raise UnsupportedContentType(details={"expected": "application/json", "got": request.META.get("CONTENT_TYPE")})


def _rules() -> Rules:
    return Rules(
        ts_min=ingest_setting("TS_MIN"),
        ts_max=int(time.time()) + ingest_setting("TS_MAX_FUTURE_SECONDS"),
        max_depth=ingest_setting("MESSAGE_MAX_DEPTH"),
    )


# The record's rules as a JSON schema, for the OpenAPI document: what a schema can say (types,
# lengths, ranges, no other field). The validator (ingest.validation) checks the rest too: ts within
# 2000-01-01 .. now + 1 day, a sender not blank, no NUL or unpaired surrogate, message depth.
RECORD_SCHEMA = {
    "type": "object",
    "required": list(REQUIRED),
    "additionalProperties": False,
    "properties": {
        "ts": {
            "oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]{1,20}$"}],
            "description": "Unix time in seconds: an integer or a string of ASCII digits; 2000-01-01 .. now + 1 day.",
        },
        "sender": {"type": "string", "minLength": 1, "maxLength": SENDER_MAX_LENGTH},
        "message": {"type": "object", "minProperties": 1, "additionalProperties": {}},
        "sent-from-ip": {"type": "string", "format": "ipv4", "description": "Dotted quad, no leading zeros."},
        "priority": {"type": "integer", "minimum": PRIORITY_MIN, "maximum": PRIORITY_MAX},
    },
}

_ACCEPTED = inline_serializer("IngestAccepted", {"id": serializers.UUIDField(), "status": serializers.CharField()})
_STATUS = inline_serializer(
    "IngestStatus",
    {
        "id": serializers.UUIDField(),
        "status": serializers.ChoiceField(choices=["queued", "stored", "failed"]),
        "record": serializers.JSONField(required=False, help_text="Once stored: the record as stored."),
        "received_at": serializers.DateTimeField(required=False),
        "stored_at": serializers.DateTimeField(required=False),
        "detail": serializers.CharField(required=False),
        "failed_at": serializers.DateTimeField(required=False),
    },
)


class IngestRateThrottle(ClientRateThrottle):
    """The project's per-client limit, with its own rate: senders post far more than people browse."""

    scope = "ingest"


class RecordCreateApi(APIView):
    permission_classes = [role_required(INGEST)]
    throttle_classes = [IngestRateThrottle]

    @extend_schema(
        summary="Submit a record: strictly validated, queued, stored by a worker",
        description=(
            "Rules: `ts` required (integer or ASCII-digit string, 2000-01-01 .. now + 1 day); `sender` required "
            "(1-255 characters); `message` required (JSON object, ≥ 1 field); `sent-from-ip` optional (dotted-quad "
            "IPv4, no leading zeros); `priority` optional (32-bit integer); nothing else, no key twice. A 400 lists "
            "every violation by field. 202 means the record is committed to the database (the outbox); a worker "
            "stores it shortly after. Optional `Idempotency-Key` header: "
            "the same key always gets the same id and the record is stored once."
        ),
        request={"application/json": RECORD_SCHEMA},
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[OpenApiExample("record", value=EXAMPLE_RECORD, request_only=True)],
        responses={
            202: _ACCEPTED,
            400: OpenApiResponse(description="Not JSON, not an object, or rule violations (all listed)"),
            401: OpenApiResponse(description="No or bad credentials"),
            403: OpenApiResponse(description="Caller lacks the ingest role"),
            413: OpenApiResponse(description="Body over the limit (64 KiB by default)"),
            415: OpenApiResponse(description="Content-Type is not application/json"),
            429: OpenApiResponse(description="Over the client's ingest limit; see Retry-After"),
            503: OpenApiResponse(description="The database cannot take it now; nothing saved; see Retry-After"),
        },
        tags=["ingest"],
    )
    def post(self, request: Request) -> Response:
        principal = principal_of(request)
        django_request = request._request
        _check_content_type(django_request)
        idempotency_key = idempotency_key_read(django_request)
        body = body_read(django_request, limit=ingest_setting("MAX_BODY_BYTES"))
        try:
            record = record_parse(body, rules=_rules())
        except BodyNotJson as exc:
            raise InvalidJson(str(exc)) from None
        except BodyNotObject as exc:
            raise NotAnObject(str(exc)) from None
        except RecordInvalid as exc:
            raise ValidationError(exc.errors) from None
        record_id = record_accept(
            client_id=principal.client_id, record=record, size=len(body), idempotency_key=idempotency_key
        )
        return Response(
            {"id": str(record_id), "status": "queued"}, status=202, headers={"Location": f"/api/ingest/{record_id}"}
        )


class RecordStatusApi(APIView):
    permission_classes = [role_required(INGEST)]

    @extend_schema(
        summary="What became of a submitted record: queued, stored (with the record) or failed",
        responses={
            200: _STATUS,
            401: OpenApiResponse(description="No or bad credentials"),
            404: OpenApiResponse(description="No such record for this client"),
            429: OpenApiResponse(description="Too many requests from this client; see Retry-After"),
        },
        tags=["ingest"],
    )
    def get(self, request: Request, record_id: uuid.UUID) -> Response:
        principal = principal_of(request)
        status = record_status(client_id=principal.client_id, record_id=record_id)
        if status is None:
            raise NotFound("No record with this id for this client.")
        return Response(status)
