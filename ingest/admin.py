"""Operators browse stored records (search by sender or id, filter by priority, client and date)
and the failed ones, which they can replay."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from ingest.models import IngestFailedRecord, IngestOutbox, IngestRecord
from ingest.services import failed_records_replay


class _ReadOnlyAdmin(admin.ModelAdmin):
    # Records are data written by the pipeline: nobody edits or adds them by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _UuidOrTextSearch:
    """Search a UUID column exactly when the term is a UUID, and skip it otherwise (an exact
    lookup on a non-UUID string would fail instead of finding nothing)."""

    uuid_field = "uuid"

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        try:
            record_uuid = uuid.UUID(term)
        except ValueError:
            return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]
        return queryset.filter(**{self.uuid_field: record_uuid}), False


@admin.register(IngestRecord)
class IngestRecordAdmin(_UuidOrTextSearch, _ReadOnlyAdmin):
    list_display = ["uuid", "client", "sender", "ts", "priority", "sent_from_ip", "received_at", "stored_at"]
    list_filter = ["priority", "client", "ts", "received_at"]
    search_fields = ["sender"]
    search_help_text = "Sender (contains) or a record id (exact)."
    list_select_related = ["client"]
    # The table grows without bound: no COUNT(*) of the whole table on every page.
    show_full_result_count = False
    readonly_fields = [f.name for f in IngestRecord._meta.fields]


@admin.register(IngestOutbox)
class IngestOutboxAdmin(_UuidOrTextSearch, _ReadOnlyAdmin):
    """Accepted, not stored yet. A long list here means no worker is running (or it cannot keep up)."""

    list_display = ["uuid", "client_id", "received_at", "relayed_at", "relay_count"]
    list_filter = [("relayed_at", admin.EmptyFieldListFilter)]
    search_fields = ["client_id__exact"]  # Django casts it to text: a non-numeric term finds nothing
    search_help_text = "A record id or a client id (exact)."
    show_full_result_count = False
    readonly_fields = [f.name for f in IngestOutbox._meta.fields]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deleting an accepted record here would lose it


@admin.register(IngestFailedRecord)
class IngestFailedRecordAdmin(_UuidOrTextSearch, _ReadOnlyAdmin):
    list_display = ["uuid", "client_id", "failed_at", "attempts", "short_error", "replayed_at"]
    list_filter = [("replayed_at", admin.EmptyFieldListFilter), "failed_at"]
    search_fields = ["error", "message_id"]
    search_help_text = "Error text or message id (contains), or a record id (exact)."
    readonly_fields = [f.name for f in IngestFailedRecord._meta.fields]
    actions = ["replay"]

    @admin.display(description="error")
    def short_error(self, obj: IngestFailedRecord) -> str:
        return obj.error.splitlines()[0][:120] if obj.error else ""

    @admin.action(description="Replay the selected failed records (queue them again)")
    def replay(self, request: HttpRequest, queryset: QuerySet[IngestFailedRecord]) -> None:
        count = failed_records_replay(uuids=list(queryset.values_list("uuid", flat=True)))
        self.message_user(request, f"Replayed {count} record(s).", messages.SUCCESS)
