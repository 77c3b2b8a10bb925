from __future__ import annotations

from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError


class WebhookUrlRefused(ValidationError):
    """400 naming the ``url`` field: not http(s), does not resolve, or leads to a non-public address."""

    def __init__(self, reason: str) -> None:
        super().__init__({"url": [reason]}, code="url_refused")


class WebhookNotFound(APIException):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "No such webhook."


class TooManyWebhooks(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "too_many_webhooks"
    default_detail = "This client has as many webhooks as it may; delete one first."
