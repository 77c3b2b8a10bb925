from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db import models
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.http import HttpRequest

from memes.models import CatalogueState, Meme, MemeReport, ModerationDecision, ReportedMeme
from memes.rating import CEILINGS
from memes.services import catalogue_changed, meme_decide, meme_rerate


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


# --- moderation ------------------------------------------------------------------------------------


class ModerationActionForm(ActionForm):
    """The action bar of the queue: which rating to keep a meme at, and why (recorded)."""

    rating = forms.ChoiceField(
        choices=[("", "rating: as it is"), *((level, f"rating: {level}") for level in CEILINGS)], required=False
    )
    note = forms.CharField(required=False, max_length=500, label="why", widget=forms.TextInput(attrs={"size": 40}))


class ReportInline(admin.TabularInline):
    model = MemeReport
    extra = 0
    can_delete = False
    fields = readonly_fields = ("client", "reason", "note", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class DecisionInline(admin.TabularInline):
    model = ModerationDecision
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "decided_at",
        "operator",
        "action",
        "rating_before",
        "rating_after",
        "was_hidden",
        "note",
    )

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


REASONS = [choice for choice, _ in MemeReport.Reason.choices]


@admin.register(ReportedMeme)
class ModerationQueueAdmin(admin.ModelAdmin):
    """Reported and hidden memes, most reported first; the actions record a decision each."""

    action_form = ModerationActionForm
    actions = ["keep", "rerate", "block"]
    list_display = ("id", "template", "short_text", "language", "rating", "hidden", "reports", "reasons", "last_report")
    list_filter = ("hidden", "rating", "rating_locked", "language")
    search_fields = ("text", "template", "=id")
    fields = ("template", "text", "language", "kind", "rating", "rating_reason", "rating_locked", "hidden")
    readonly_fields = fields
    inlines = [ReportInline, DecisionInline]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReportedMeme]:
        reported = Exists(MemeReport.objects.filter(meme=OuterRef("pk")))
        per_reason = {f"n_{reason}": Count("reports", filter=Q(reports__reason=reason)) for reason in REASONS}
        return (
            super()
            .get_queryset(request)
            .filter(reported | Q(hidden=True))
            .annotate(report_count=Count("reports"), last_reported=Max("reports__created_at"), **per_reason)
            .order_by("-hidden", "-report_count", "-id")  # hidden first, then the most reported
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="text")
    def short_text(self, obj: Meme) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"

    @admin.display(description="reports", ordering="report_count")
    def reports(self, obj: ReportedMeme) -> int:
        return int(getattr(obj, "report_count", 0))

    @admin.display(description="reasons")
    def reasons(self, obj: ReportedMeme) -> str:
        counts = ((reason, getattr(obj, f"n_{reason}", 0)) for reason in REASONS)
        return ", ".join(f"{reason} x{count}" for reason, count in counts if count) or "-"

    @admin.display(description="last report", ordering="last_reported")
    def last_report(self, obj: ReportedMeme) -> object:
        return getattr(obj, "last_reported", None)

    def _decide(self, request: HttpRequest, queryset: QuerySet[ReportedMeme], action: str) -> None:
        rating, note = request.POST.get("rating", ""), request.POST.get("note", "")
        if action == ModerationDecision.Action.KEEP and rating and rating not in CEILINGS:
            self.message_user(request, f"Unknown rating {rating!r}.", messages.ERROR)
            return
        done = skipped = 0
        for meme in queryset:
            try:
                meme_decide(meme=meme, operator_id=request.user.pk, action=action, rating=rating, note=note)
                done += 1
            except ValueError:  # keep a blocked meme without naming a rating
                skipped += 1
        self.message_user(request, f"{action}: {done} meme(s) decided.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} blocked meme(s) need a rating to be kept.", messages.WARNING)

    @admin.action(description="Keep (at the rating chosen above, or as it is), unhide")
    def keep(self, request: HttpRequest, queryset: QuerySet[ReportedMeme]) -> None:
        self._decide(request, queryset, ModerationDecision.Action.KEEP)

    @admin.action(description="Re-rate by the rules now, unhide")
    def rerate(self, request: HttpRequest, queryset: QuerySet[ReportedMeme]) -> None:
        self._decide(request, queryset, ModerationDecision.Action.RERATE)

    @admin.action(description="Block (never served)")
    def block(self, request: HttpRequest, queryset: QuerySet[ReportedMeme]) -> None:
        self._decide(request, queryset, ModerationDecision.Action.BLOCK)


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(admin.ModelAdmin):
    """The audit trail: every decision, who made it, when, what and why. Read-only."""

    list_display = ("decided_at", "meme", "operator", "action", "rating_before", "rating_after", "was_hidden", "note")
    list_filter = ("action", "rating_after")
    search_fields = ("=meme__id", "note")
    readonly_fields = [field.name for field in ModerationDecision._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
