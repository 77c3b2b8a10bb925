from __future__ import annotations

from django.urls import path

from ingest.apis import RecordCreateApi, RecordStatusApi

app_name = "ingest"
urlpatterns = [
    path("ingest", RecordCreateApi.as_view(), name="record-create"),
    path("ingest/<uuid:record_id>", RecordStatusApi.as_view(), name="record-status"),
]
