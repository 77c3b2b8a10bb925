"""Webhook reads: a client's webhooks and their delivery log (the API, the portal and exports use these)."""

from __future__ import annotations

from typing import Any

from webhooks.models import Delivery, Webhook


def webhooks_of(*, client_id: int) -> list[Webhook]:
    return list(Webhook.objects.filter(client_id=client_id))


def deliveries_of(*, client_id: int, webhook_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The client's latest deliveries, newest first, with their event's id and type."""
    deliveries = Delivery.objects.filter(webhook__client_id=client_id)
    if webhook_id is not None:
        deliveries = deliveries.filter(webhook_id=webhook_id)
    rows: Any = deliveries.order_by("-created_at", "-id").values(
        "id",
        "webhook_id",
        "event_id",
        "event__type",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "last_attempt_at",
        "delivered_at",
        "created_at",
    )[:limit]
    return list(rows)


def webhook_export(*, client_id: int) -> list[dict[str, Any]]:
    """Everything stored about the client's webhooks, for a data export (no secret: none is stored)."""
    return [
        {
            "id": webhook.pk,
            "url": webhook.url,
            "events": webhook.events,
            "threshold": webhook.threshold,
            "secret_hint": webhook.secret_hint,
            "created_at": webhook.created_at,
            "deliveries": deliveries_of(client_id=client_id, webhook_id=webhook.pk, limit=100_000),
        }
        for webhook in webhooks_of(client_id=client_id)
    ]
