"""Keep everything under /api/ JSON, even what fails before or outside a DRF view."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse

from config.exceptions import error_response

logger = logging.getLogger("maas.api")


class ApiErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, "Request body is larger than the limit.", "payload_too_large")
        if isinstance(exception, SuspiciousOperation):
            return error_response(400, "Bad request.")
        logger.exception("unhandled error path=%s", request.path)
        return error_response(500, "Internal server error; it has been logged.")
