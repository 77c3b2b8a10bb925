from __future__ import annotations

from django.contrib import admin
from django.db import models

from memes.models import CatalogueState, Meme
from memes.services import catalogue_changed, meme_rerate


@admin.register(Meme)
class MemeAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "template",
        "short_text",
        "kind",
        "language",
        "rating",
        "rating_reason",
        "hidden",
        "source_id",
    )
    list_filter = ("kind", "rating", "hidden", "rating_locked", "language")
    search_fields = ("text", "template", "=source_id")
    # Ratings change through moderation (recorded decisions), never by editing the fields.
    readonly_fields = (
        "rating",
        "rating_reason",
        "rating_locked",
        "hidden",
        "is_safe",
        "unsafe_reason",
        "created_at",
        "updated_at",
    )
    list_per_page = 50
    show_full_result_count = False  # COUNT(*) over 100k+ rows on every page is wasted work
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    # Edits here change what search serves: tell the search indexes of every process.
    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if not obj.rating_locked:
            meme_rerate(meme=obj)  # an edited caption is rated again, unless an operator decided
        super().save_model(request, obj, form, change)
        catalogue_changed()

    def delete_model(self, request, obj):  # type: ignore[no-untyped-def]
        super().delete_model(request, obj)
        catalogue_changed()

    def delete_queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        super().delete_queryset(request, queryset)
        catalogue_changed()

    @admin.display(description="text")
    def short_text(self, obj: Meme) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"


@admin.register(CatalogueState)
class CatalogueStateAdmin(admin.ModelAdmin):
    list_display = ("version", "changed_at")
    readonly_fields = ("version", "changed_at")

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
