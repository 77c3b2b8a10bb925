from __future__ import annotations

from django.urls import path

from webhooks.apis import DeliveryListApi, WebhookDeleteApi, WebhookListCreateApi

app_name = "webhooks"
urlpatterns = [
    path("webhooks", WebhookListCreateApi.as_view(), name="list-create"),
    path("webhooks/deliveries", DeliveryListApi.as_view(), name="deliveries"),
    path("webhooks/<int:webhook_id>", WebhookDeleteApi.as_view(), name="delete"),
]
