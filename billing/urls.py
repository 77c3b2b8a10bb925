from __future__ import annotations

from django.urls import path

from billing.apis import BalanceApi, TopUpCreateApi, UsageApi, UsageExportApi

app_name = "billing"
urlpatterns = [
    path("balance", BalanceApi.as_view(), name="balance"),
    path("usage", UsageApi.as_view(), name="usage"),
    path("usage/export", UsageExportApi.as_view(), name="usage-export"),
    path("billing/topups", TopUpCreateApi.as_view(), name="topup-create"),
]
