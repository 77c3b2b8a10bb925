from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from webhooks.models import Delivery, Event, Webhook
from webhooks.services import delivery_retry


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["id", "client", "url", "events", "threshold", "secret_hint", "created_at"]
    list_select_related = ["client"]
    search_fields = ["url", "client__name"]
    readonly_fields = ["secret_hint", "created_at"]
    raw_id_fields = ["client"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a webhook is created through the API or the portal, which shows its secret once


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "client", "type", "created_at"]
    list_filter = ["type"]
    search_fields = ["id", "client__name"]
    readonly_fields = ["id", "client", "type", "data", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: what was sent where, how it went, and a retry for the failed ones."""

    list_display = ["id", "event", "webhook", "status", "attempts", "last_status_code", "last_error", "last_attempt_at"]
    list_filter = ["status"]
    list_select_related = ["event", "webhook"]
    search_fields = ["event__id", "webhook__url"]
    readonly_fields = [field.name for field in Delivery._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry the selected deliveries")
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        retried = 0
        for delivery in queryset.exclude(status=Delivery.Status.SUCCEEDED):
            delivery_retry(delivery_id=delivery.pk)
            retried += 1
        self.message_user(request, f"{retried} deliveries queued again.", messages.SUCCESS)
