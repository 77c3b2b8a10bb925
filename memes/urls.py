from __future__ import annotations

from django.urls import path

from memes.apis import MemeDetailApi, MemePngApi, MemeReportApi, MemeSearchApi

app_name = "memes"
urlpatterns = [
    path("memes", MemeSearchApi.as_view(), name="search"),
    path("memes/<int:meme_id>", MemeDetailApi.as_view(), name="detail"),
    path("memes/<int:meme_id>.png", MemePngApi.as_view(), name="png"),
    path("memes/<int:meme_id>/report", MemeReportApi.as_view(), name="report"),
]
