"""JSON log lines that follow a request (stdlib logging through :class:`JsonFormatter`, structlog alike).

Every line is one JSON object on stderr: ``ts``, ``level``, ``logger``, ``event`` and, while a
request is being served, its ``request_id`` (bound in a context variable, so the lines of
``logging.getLogger(...)`` calls anywhere in the code carry it too). :class:`RequestLogMiddleware`
takes the id from a sane ``X-Request-ID`` (what a load balancer or the client sent) or makes one,
returns it as a header and in every error body (``config.exceptions``), and writes one line per
request: method, route, status, duration, client id. The id also travels with an ingest record
(outbox payload → queue message → the worker's log lines, ``ingest.tasks``).

Not django-structlog: it writes two lines per request (started, finished), takes ``X-Request-ID``
unchecked (a client could put a newline-free megabyte or a fake id of another request in our logs)
and knows Django users, not API clients.

Secrets: nothing logs a header or a body; :func:`redact_secrets` is the net under that, and blanks
anything shaped like an API key or a JWT in any field (a test logs in with key, JWT and password
and greps the output).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from time import perf_counter
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponseBase

_request_id: ContextVar[str | None] = ContextVar("maas_request_id", default=None)
# A sane id: what load balancers and tracing systems send (UUIDs, hex, W3C-like ids), bounded.
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
# API keys (accounts.keys: "maas_" + prefix + "_" + secret) and JWTs (three base64url parts).
_SECRETS = re.compile(r"maas_[A-Za-z0-9]+_[A-Za-z0-9_-]{8,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")

access_log = logging.getLogger("maas.access")


def request_id_current() -> str | None:
    """The id of the request this thread is serving, if any."""
    return _request_id.get()


def request_id_from(header: str | None) -> str:
    """The client's ``X-Request-ID`` if it is sane (8-128 characters of letters, digits, ``._:-``),
    else a new one."""
    if header and _SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def redact_secrets(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: blank API keys and JWTs wherever they appear in a line."""
    for key, value in event_dict.items():
        if isinstance(value, str) and ("maas_" in value or "eyJ" in value):
            event_dict[key] = _SECRETS.sub("[redacted]", value)
    return event_dict


def _bind_request_id(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    request_id = _request_id.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict


_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Every stdlib record as one JSON object: ``ts``, ``level``, ``logger``, ``event`` (the message),
    ``request_id`` while a request is served, the fields passed as ``extra=``, ``exception``.

    The same line structlog's ``ProcessorFormatter`` would write with the processors below, for
    about 60 % of its CPU (``bench/metrics_cost.py``, docs/benchmarks.md): the access line is
    written for every request, and stdlib logging's own share is the same for both.
    """

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, Any] = {
            "ts": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        request_id = _request_id.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(redact_secrets(None, "", line), default=str)


# For code that logs through structlog's own API (structlog.get_logger()): the same fields, rendered
# by structlog to stderr.
STRUCTLOG_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    _bind_request_id,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
    structlog.processors.format_exc_info,
    redact_secrets,
    structlog.processors.JSONRenderer(default=str),
]


def logging_config(level: str, fmt: str = "json") -> dict[str, Any]:
    """``settings.LOGGING``: every logger's records as JSON lines on stderr (``fmt="kv"``: the older
    ``key=value`` lines, for reading by eye)."""
    structlog.configure(
        processors=STRUCTLOG_PROCESSORS,
        # sys.stderr as it is when a logger is first used, not when settings load (tests swap it).
        logger_factory=lambda *_args: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=True,
    )
    formatters: dict[str, Any] = {
        "json": {"()": JsonFormatter},
        "kv": {"format": "ts=%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s"},
    }
    handler = "json" if fmt != "kv" else "kv"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters,
        # No record contents in any line: a failing queue message is logged by actor and id only, a
        # database error by its kind (config/logfilters.py).
        "filters": {"redact_data": {"()": "config.logfilters.RedactData"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": handler, "filters": ["redact_data"]}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
            "health_check": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        },
    }


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return str(match.route or match.view_name or "<unnamed>")


class RequestLogMiddleware:
    """Binds the request id, returns it as ``X-Request-ID``, writes one access line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = perf_counter()
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            if access_log.isEnabledFor(logging.INFO):
                principal = getattr(request, "auth", None)
                access_log.info(
                    "request",
                    extra={
                        "method": request.method,
                        "route": _route(request),
                        "status": response.status_code,
                        "duration_ms": round((perf_counter() - started) * 1000, 2),
                        "client_id": getattr(principal, "client_id", None),
                    },
                )
            return response
        finally:
            _request_id.reset(token)
