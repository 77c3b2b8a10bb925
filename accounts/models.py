from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Client(models.Model):
    """An API consumer. Its roles are the groups of its Django user (managed in the admin)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client")
    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    max_rating = models.CharField(
        max_length=8,
        blank=True,
        choices=[("g", "g"), ("pg", "pg"), ("pg-13", "pg-13"), ("r", "r")],
        help_text="The highest content rating this client is ever served, whatever it asks; empty: no limit (r).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Every JWT carries the version it was issued under (claim ``cv``); raising it (deactivation,
    # a key revoked, `manage.py deactivate_client`) refuses every token issued before, at once.
    credentials_version = models.PositiveIntegerField(default=1, editable=False)
    # When its credentials last changed (version raised, deactivated, its user changed): a server
    # that finds Redis back after an outage publishes again what changed meanwhile (the publish
    # made during the outage was lost, and Redis may come back with the old version).
    credentials_changed_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A client's API key. Only a SHA-256 of the key is stored; the key is shown once at creation.

    Keys are 256-bit random strings, so a fast hash is safe here (unlike passwords, there is nothing
    to brute-force), and it keeps authentication cheap on every request.
    """

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part of the key, used to look it up.")
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [models.CheckConstraint(condition=~Q(prefix=""), name="apikey_prefix_not_empty")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.client})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Subscription(models.Model):
    """A paid plan held for a period. ``premium_ai`` is a role while a subscription to it is active:
    it starts at ``starts_at`` and ends at ``ends_at`` (never, when empty) without anyone acting."""

    PREMIUM_AI = "premium_ai"
    PLANS = [(PREMIUM_AI, "Premium AI memes")]

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.CharField(max_length=32, choices=PLANS, default=PREMIUM_AI)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until revoked.")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["client", "plan", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="subscription_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        until = self.ends_at.date().isoformat() if self.ends_at else "open-ended"
        return f"{self.client} {self.plan} from {self.starts_at.date().isoformat()} ({until})"

    def is_active(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return self.starts_at <= at and (self.ends_at is None or at < self.ends_at)
