from __future__ import annotations

from django.urls import path

from accounts.apis import TokenObtainApi, TokenRefreshApi, WhoAmIApi

app_name = "accounts"
urlpatterns = [
    path("auth/token", TokenObtainApi.as_view(), name="token"),
    path("auth/token/refresh", TokenRefreshApi.as_view(), name="token-refresh"),
    path("me", WhoAmIApi.as_view(), name="me"),
]
