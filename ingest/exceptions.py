"""Errors of the ingest API. The project's handler turns each into the JSON error envelope."""

from __future__ import annotations

from rest_framework import status

from config.exceptions import ApiError, ServiceUnavailable


class InvalidJson(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_json"
    default_detail = "The body is not valid JSON."


class NotAnObject(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "not_an_object"
    default_detail = "The body must be a JSON object."


class BadContentLength(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_content_length"
    default_detail = "Content-Length is not a non-negative integer."


class LengthRequired(ApiError):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_code = "length_required"
    default_detail = "This server cannot read a chunked body; send Content-Length."


class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The body is larger than the limit."


class UnsupportedContentType(ApiError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "unsupported_media_type"
    default_detail = "Send the record as JSON: Content-Type: application/json (UTF-8)."


class IngestUnavailable(ServiceUnavailable):
    """The record could not be saved (database unavailable): nothing was accepted, retry."""

    default_code = "ingest_unavailable"
    default_detail = "Records cannot be accepted right now; nothing was saved. Retry after the given delay."

    def __init__(self, detail: str | None = None, *, retry_after: int, reason: str) -> None:
        super().__init__(detail, details={"retry_after_seconds": retry_after, "reason": reason})
        # DRF's handler turns ``wait`` into the Retry-After header.
        self.wait = retry_after
