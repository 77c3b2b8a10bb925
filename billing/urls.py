from __future__ import annotations

from django.urls import path

from billing.apis import BalanceApi, TopUpCreateApi, UsageApi

app_name = "billing"
urlpatterns = [
    path("balance", BalanceApi.as_view(), name="balance"),
    path("usage", UsageApi.as_view(), name="usage"),
    path("billing/topups", TopUpCreateApi.as_view(), name="topup-create"),
]
