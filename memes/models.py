"""The meme catalogue.

A :class:`Meme` is either a row of the Library of Congress "Meme Generator" data set (``source_id`` is
its LoC "Meme ID") or a meme we generated ourselves (``source_id`` is null, ``kind`` "ai").
:class:`CatalogueState` holds one token that changes whenever the catalogue does, so that every
process can notice cheaply that its in-memory search index is stale.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from memes.rating.levels import LEVELS

RATING_CHOICES = [(level, level) for level in LEVELS]


class Meme(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text only"
        IMAGE = "image", "Image"
        AI = "ai", "AI generated"

    id = models.BigAutoField(primary_key=True)
    source_id = models.BigIntegerField(
        unique=True, null=True, blank=True, help_text='LoC "Meme ID"; null for memes we generate.'
    )
    template = models.CharField(max_length=255, db_index=True, help_text='LoC "Base Meme Name".')
    text = models.TextField(help_text="The caption to show: upper + lower text when present, else the alternate text.")
    upper_text = models.TextField(blank=True)
    lower_text = models.TextField(blank=True)
    image_url = models.URLField(max_length=500, blank=True, help_text='LoC "Archived URL"; blank when unknown.')
    source_url = models.URLField(max_length=500, blank=True, help_text='LoC "Meme Page URL".')
    md5 = models.CharField(max_length=32, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEXT)
    generator = models.CharField(max_length=16, blank=True, help_text='Blank for the catalogue; "local"/"openai".')
    language = models.CharField(max_length=2, blank=True, db_index=True, help_text="ISO 639-1; blank if unknown.")
    is_safe = models.BooleanField(default=True, help_text="False when the rating is blocked: never served.")
    unsafe_reason = models.CharField(max_length=120, blank=True)
    rating = models.CharField(
        max_length=8,
        choices=RATING_CHOICES,
        default="g",
        help_text="g < pg < pg-13 < r < blocked (memes.rating); served only within the caller's ceiling.",
    )
    rating_reason = models.CharField(max_length=120, blank=True, help_text="The rule that set the rating, masked.")
    rating_locked = models.BooleanField(
        default=False, help_text="An operator decided this rating: imports and rate_memes leave it alone."
    )
    hidden = models.BooleanField(
        default=False, help_text="Reported by enough clients: served nowhere until an operator decides."
    )
    owner = models.ForeignKey(
        "accounts.Client",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="generated_memes",
        help_text="The client an AI meme was generated for (only it can fetch it again); empty for the catalogue.",
    )
    place_name = models.CharField(max_length=200, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The admin's and the fallback selectors' usual filter: safe memes of one language.
            models.Index(fields=["language", "is_safe"], name="memes_lang_safe_idx"),
            models.Index(fields=["kind"], name="memes_kind_idx"),
            models.Index(fields=["rating"], name="memes_rating_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=["text", "image", "ai"]), name="memes_meme_kind_valid"),
            models.CheckConstraint(condition=models.Q(rating__in=list(LEVELS)), name="memes_meme_rating_valid"),
            # An unsafe meme always says why, so a moderator can review the decision.
            models.CheckConstraint(
                condition=models.Q(is_safe=True) | ~models.Q(unsafe_reason=""), name="memes_meme_unsafe_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template}: {self.text[:60]}"


class CatalogueState(models.Model):
    """One row whose ``version`` changes on every catalogue change (see ``services.catalogue_changed``).

    It lives in the database rather than the cache because the embedded default's cache is per
    process: an import run by ``manage.py`` must still be seen by the server's workers.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.CharField(max_length=32)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="memes_cataloguestate_single_row")]

    def __str__(self) -> str:
        return f"catalogue version {self.version}"


class ReportedMeme(Meme):
    """The moderation queue in the admin: memes with reports, or hidden (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "moderation queue entry"
        verbose_name_plural = "moderation queue (reported and hidden memes)"


class MemeReport(models.Model):
    """A client says a meme should not be served. One per client and meme (reporting again is a no-op)."""

    class Reason(models.TextChoices):
        OFFENSIVE = "offensive", "Offensive"
        HATEFUL = "hateful", "Hateful"
        SEXUAL = "sexual", "Sexual"
        SELF_HARM = "self_harm", "Self-harm"
        SPAM = "spam", "Spam"
        OTHER = "other", "Other"

    meme = models.ForeignKey(Meme, on_delete=models.CASCADE, related_name="reports")
    client = models.ForeignKey("accounts.Client", on_delete=models.CASCADE, related_name="meme_reports")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["meme", "client"], name="memes_report_once_per_client")]

    def __str__(self) -> str:
        return f"report of meme {self.meme_id} by client {self.client_id}: {self.reason}"


class ModerationDecision(models.Model):
    """What an operator decided about a meme, and why: kept for good (an audit trail), and binding
    (the meme's ``rating_locked``: imports and re-ratings leave its rating alone)."""

    class Action(models.TextChoices):
        KEEP = "keep", "Keep (with a rating)"
        RERATE = "rerate", "Re-rate by the rules"
        BLOCK = "block", "Block"

    meme = models.ForeignKey(Meme, on_delete=models.CASCADE, related_name="decisions")
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    action = models.CharField(max_length=8, choices=Action.choices)
    rating_before = models.CharField(max_length=8, choices=RATING_CHOICES)
    rating_after = models.CharField(max_length=8, choices=RATING_CHOICES)
    was_hidden = models.BooleanField(default=False)
    note = models.CharField(max_length=500, blank=True, help_text="Why.")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at"]

    def __str__(self) -> str:
        return f"{self.action} meme {self.meme_id}: {self.rating_before} -> {self.rating_after}"
