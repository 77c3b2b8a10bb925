"""Webhooks: where a client wants to be told, what happened (events), and each attempt to tell it.

The signing secret is never stored. Each webhook keeps a random ``secret_salt``; the secret is
``HMAC-SHA256(WEBHOOKS["SECRET_KEY"] or SECRET_KEY, salt)``, recomputed to sign each delivery. A
copy of the database alone therefore gives no one the power to forge our signatures (the server key
is needed too), without storing a reversible secret or adding an encryption dependency. Only the
last four characters are kept (``secret_hint``) so a client can tell its secrets apart.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class EventType(models.TextChoices):
    BALANCE_BELOW_THRESHOLD = "balance.below_threshold", "Balance fell below the threshold"
    BALANCE_DEPLETED = "balance.depleted", "Balance reached 0"
    TOPUP_CREDITED = "topup.credited", "Tokens credited"
    KEY_CREATED = "key.created", "API key created"
    KEY_REVOKED = "key.revoked", "API key revoked"


class Webhook(models.Model):
    client = models.ForeignKey("accounts.Client", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, help_text="Event types delivered to this URL.")
    threshold = models.BigIntegerField(
        null=True, blank=True, help_text="balance.below_threshold: sent when the balance falls below this."
    )
    secret_salt = models.CharField(max_length=64, editable=False)
    secret_hint = models.CharField(max_length=8, editable=False, help_text="Last characters of the secret.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(threshold__isnull=True) | Q(threshold__gt=0), name="webhook_threshold_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.url} (client {self.client_id})"


class Event(models.Model):
    """Something a client may be told about. Its id travels in every delivery, so a receiver that
    gets it twice (delivery is at least once) can tell."""

    id = models.CharField(primary_key=True, max_length=40, editable=False)
    client = models.ForeignKey("accounts.Client", on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=40, choices=EventType.choices)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["client", "created_at"], name="webhooks_event_client_time")]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class Delivery(models.Model):
    """One event for one webhook, and how telling it went."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # not tried yet, or failed and will be retried
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # every attempt failed; no more retries

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["webhook", "event"], name="webhooks_delivery_once")]

    def __str__(self) -> str:
        return f"{self.event_id} → webhook {self.webhook_id}: {self.status}"
