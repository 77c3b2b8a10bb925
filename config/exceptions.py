"""One error envelope for the whole API: ``{"error": {"code", "message", "details"}}``.

DRF's default handler does the status, headers (``WWW-Authenticate``, ``Retry-After``) and
rollback; this module only reshapes its body. Django-level errors under ``/api/`` (404, 500, bodies
that are too large) go through :func:`error_response` so they look the same.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from config.logs import request_id_current

# Stable codes a client can switch on; DRF's own default_code where it already is one.
_CODES_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    402: "payment_required",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    429: "throttled",
    500: "server_error",
    503: "service_unavailable",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "details": details or {}}
    request_id = request_id_current()
    if request_id is not None:  # what to quote to an operator: the logs of this request carry it
        error["request_id"] = request_id
    return {"error": error}


def error_response(
    status_code: int, message: str, code: str | None = None, details: dict[str, Any] | None = None
) -> JsonResponse:
    """A JSON error for places outside DRF (Django handlers, middleware)."""
    return JsonResponse(
        error_body(code or _CODES_BY_STATUS.get(status_code, "error"), message, details), status=status_code
    )


def _validation_message(detail: Any) -> str:
    if isinstance(detail, dict):
        fields = ", ".join(str(name) for name in detail)
        return f"Invalid input: {fields}."
    if isinstance(detail, list) and detail:
        return str(detail[0])
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif is_database_unavailable(exc):
        exc = database_unavailable(exc, context["request"].path)
    response = exception_handler(exc, context)
    if response is None:
        return None  # not an API exception: Django's 500 handler answers (also JSON under /api/)
    assert isinstance(exc, exceptions.APIException)

    details: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        code = "validation_error"
        message = _validation_message(exc.detail)
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    else:
        # The most specific code available: a domain error's own, the one given where it was raised
        # (AuthenticationFailed(..., code="invalid_api_key")), the class default, or one by status.
        raised_code = exc.get_codes() if isinstance(exc.detail, str) else None
        code = (
            getattr(exc, "error_code", None)
            or (raised_code if isinstance(raised_code, str) and raised_code not in ("error", "invalid") else None)
            or (exc.default_code if exc.default_code not in ("error", "invalid") else None)
            or _CODES_BY_STATUS.get(response.status_code, "error")
        )
        detail = exc.detail
        if isinstance(detail, dict):
            message = str(detail.get("detail", detail.get("message", "Request failed.")))
            details = {k: v for k, v in detail.items() if k not in ("detail", "message")}
        else:
            message = str(detail)
        details.update(getattr(exc, "extra_details", None) or {})
        wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
        if wait is not None:
            details["retry_after_seconds"] = int(wait + 0.999)
    response.data = error_body(str(code), message, details)
    if isinstance(exc, DatabaseUnavailable):
        # Logged once in a while by database_unavailable(), not once per request by django.request.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


class ApiError(exceptions.APIException):
    """Base for domain errors: subclass with ``status_code``, ``default_code``, ``default_detail``.

    ``details`` ends up in the envelope's ``details`` (e.g. balance and price of a 402).
    """

    def __init__(self, detail: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.extra_details = details or {}
        self.error_code = self.default_code


class ServiceUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = "A backing service is unavailable; retry later."


# Seconds a client is told to wait when the database is unreachable: long enough for a failover or
# a restart, short enough that a retry after a blip succeeds.
DATABASE_RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(ServiceUnavailable):
    """The database is unreachable (stopped, restarting, failing over): retry later.

    Nothing was charged or accepted: every write that matters (debit, ledger, outbox) is a
    transaction that did not commit."""

    default_code = "database_unavailable"
    default_detail = "The database is unavailable; nothing was charged or saved. Retry after the given delay."

    def __init__(self) -> None:
        super().__init__(details={"retry_after_seconds": DATABASE_RETRY_AFTER_SECONDS})
        self.wait = DATABASE_RETRY_AFTER_SECONDS  # DRF's handler turns it into Retry-After


def is_database_unavailable(exc: BaseException) -> bool:
    """An error that means "cannot reach the database", not a bug: Django's OperationalError
    (connection refused, server closed the connection, admin shutdown) and InterfaceError
    (a connection already closed)."""
    return isinstance(exc, OperationalError | InterfaceError)


_logger = logging.getLogger("maas.api")
_LOG_EVERY_SECONDS = 10.0
_log_lock = threading.Lock()
_log_state = {"last": 0.0, "suppressed": 0}


def database_unavailable(exc: BaseException, path: str) -> DatabaseUnavailable:
    """The 503 for ``exc``, logged as one warning line (no traceback) at most every 10 s per
    process: an outage under load must not write a traceback per request."""
    database_unavailable_log(exc, path)
    return DatabaseUnavailable()


def database_unavailable_log(exc: BaseException, path: str) -> None:
    """Log a database outage met at ``path``: one line every 10 s per process, counting the rest."""
    now = time.monotonic()
    with _log_lock:
        if now - _log_state["last"] >= _LOG_EVERY_SECONDS:
            suppressed, _log_state["suppressed"], _log_state["last"] = _log_state["suppressed"], 0, now
        else:
            _log_state["suppressed"] += 1
            suppressed = -1
    if suppressed >= 0:
        _logger.warning(
            "database unavailable path=%s error=%s similar_since_last=%d",
            path,
            type(exc).__name__,
            suppressed,
        )


def database_unavailable_response(exc: BaseException, path: str) -> JsonResponse:
    """The same 503 for places outside DRF (middleware, Django's handlers)."""
    error = database_unavailable(exc, path)
    response = error_response(
        error.status_code, str(error.detail), error.default_code, {"retry_after_seconds": error.wait}
    )
    response["Retry-After"] = str(error.wait)
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
