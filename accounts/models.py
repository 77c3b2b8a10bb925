from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Client(models.Model):
    """An API consumer. Its roles are the groups of its Django user (managed in the admin)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client")
    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

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
