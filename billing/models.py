"""Token accounts and their append-only ledger.

Invariants, each enforced by the database and checked by ``manage.py check_ledger``:

- an account's ``balance`` is never negative (check constraint);
- ``balance`` equals the sum of the account's ledger amounts, and each entry's ``balance_after`` is
  the previous entry's ``balance_after`` plus its ``amount`` (entries of one account are written
  while its row is locked, so their ids follow the order of the balance changes);
- a ledger entry is never changed or deleted (Python here, a trigger on PostgreSQL);
- a purchase id credits at most once (partial unique index).
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TokenAccount(models.Model):
    """A client's prepaid tokens. The primary key is the client's id, so a debit is one PK lookup.

    ``tokens_spent`` and ``paid_calls`` are running totals of the debits, kept in the same UPDATE
    that changes the balance, so that usage totals never need to scan the ledger.
    """

    client = models.OneToOneField(
        "accounts.Client",
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="token_account",
        db_column="client_id",
    )
    balance = models.BigIntegerField(default=0)
    tokens_spent = models.BigIntegerField(default=0)
    paid_calls = models.BigIntegerField(default=0)
    # The balances below which the client wants to be told (webhooks keeps them in step with its
    # subscriptions through billing.services.account_alert_thresholds_set). A debit reads them in the
    # statement that changes the balance, so telling "crossed one" costs no extra query; NULL (the
    # usual case) costs nothing at all.
    alert_thresholds = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["client_id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="billing_account_balance_not_negative"),
            models.CheckConstraint(
                condition=Q(tokens_spent__gte=0, paid_calls__gte=0), name="billing_account_usage_not_negative"
            ),
        ]
        permissions = [("topup_tokenaccount", "Can top up token accounts")]

    def __str__(self) -> str:
        return f"tokens of client {self.client_id}"


class LedgerQuerySet(models.QuerySet["LedgerEntry"]):
    """Bulk updates and deletes are refused like single ones: the ledger only grows."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise LedgerIsAppendOnly("ledger entries cannot be updated")

    def delete(self) -> NoReturn:
        raise LedgerIsAppendOnly("ledger entries cannot be deleted")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> NoReturn:
        raise LedgerIsAppendOnly("ledger entries cannot be updated")


class LedgerIsAppendOnly(Exception):
    pass


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        CREDIT = "credit", "Credit"
        DEBIT = "debit", "Debit"

    id = models.BigAutoField(primary_key=True)
    # No single-column index: the (account, created_at) index below serves every per-account read.
    account = models.ForeignKey(TokenAccount, on_delete=models.PROTECT, related_name="entries", db_index=False)
    kind = models.CharField(max_length=6, choices=Kind.choices)
    amount = models.BigIntegerField(help_text="Signed: positive for a credit, negative for a debit.")
    balance_after = models.BigIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    request_ref = models.CharField(
        max_length=500, blank=True, help_text="The request this paid for: method, path and query, or a call id."
    )
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    purchase_id = models.CharField(max_length=100, null=True, blank=True, help_text="Top-ups: the purchase credited.")
    actor = models.CharField(max_length=150, blank=True, help_text="Who caused it: an operator, a client, a command.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["account", "created_at"], name="billing_ledger_account_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_id"], condition=Q(purchase_id__isnull=False), name="billing_ledger_purchase_once"
            ),
            models.CheckConstraint(
                condition=Q(kind="credit", amount__gt=0) | Q(kind="debit", amount__lt=0),
                name="billing_ledger_sign_matches_kind",
            ),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="billing_ledger_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.amount:+d} → {self.balance_after} (client {self.account_id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise LedgerIsAppendOnly("ledger entries cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise LedgerIsAppendOnly("ledger entries cannot be deleted")


class IdempotencyRecord(models.Model):
    """The outcome of a paid call made with an ``Idempotency-Key``, replayed to retries for a while.

    One per (client, key); the unique constraint is what makes two concurrent duplicates charge once.
    """

    id = models.BigAutoField(primary_key=True)
    client = models.ForeignKey("accounts.Client", on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="Hash of the request's parameters.")
    response = models.JSONField(encoder=DjangoJSONEncoder)
    price = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    ledger_entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="+", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="billing_idempotency_once")]
        indexes = [models.Index(fields=["created_at"], name="billing_idempotency_age")]

    def __str__(self) -> str:
        return f"{self.key} (client {self.client_id})"
