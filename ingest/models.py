from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class IngestOutbox(models.Model):
    """Accepted records that are not stored yet: the durable outbox.

    The API inserts the row and answers 202 once it is committed. The relay (a thread of each
    worker process) publishes pending rows to the queue in batches and marks them relayed; the
    worker deletes them in the same transaction that stores the records. A row relayed long ago but
    still here (its message was lost) is relayed again, so a record leaves this table only stored
    or set aside as failed.
    """

    uuid = models.UUIDField(primary_key=True, editable=False, verbose_name="record id")
    # A plain integer, not a foreign key: a key check would lock the client's row (FOR KEY SHARE)
    # on every insert, and one busy client would contend with itself. The worker's insert into
    # IngestRecord checks the client.
    client_id = models.BigIntegerField()
    payload = models.JSONField(help_text="The record as the worker will store it.")
    received_at = models.DateTimeField(default=timezone.now)
    relayed_at = models.DateTimeField(null=True, blank=True)
    relay_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "queued ingest record"
        indexes = [
            models.Index(
                fields=["received_at"], condition=Q(relayed_at__isnull=True), name="ingest_outbox_pending_idx"
            ),
            models.Index(
                fields=["relayed_at"], condition=Q(relayed_at__isnull=False), name="ingest_outbox_relayed_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.uuid} ({'relayed' if self.relayed_at else 'pending'})"


class IngestRecord(models.Model):
    """A record that went through the queue and was stored by the worker.

    ``uuid`` is the id the client got with its 202: unique, so storing the same record twice (a
    redelivered message after a worker crash) inserts nothing the second time.
    """

    uuid = models.UUIDField(unique=True, editable=False, verbose_name="id")
    # PROTECT: deleting a client must not silently delete what it sent; deactivate it instead.
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="ingest_records")
    ts = models.DateTimeField(db_index=True, help_text="The record's own timestamp (its `ts`).")
    sender = models.CharField(max_length=255)
    message = models.JSONField()  # JSONB on PostgreSQL
    sent_from_ip = models.GenericIPAddressField(protocol="IPv4", null=True, blank=True)  # inet on PostgreSQL
    priority = models.IntegerField(null=True, blank=True, db_index=True)
    received_at = models.DateTimeField(help_text="When the API accepted it (202).")
    stored_at = models.DateTimeField(default=timezone.now, help_text="When the worker stored it.")

    class Meta:
        ordering = ["-id"]
        verbose_name = "ingest record"
        constraints = [models.CheckConstraint(condition=~Q(sender=""), name="ingest_record_sender_not_empty")]

    def __str__(self) -> str:
        return f"{self.uuid} from {self.sender}"


class IngestFailedRecord(models.Model):
    """A record the worker could not store: its batch exhausted its retries (dead-lettered) or the
    database refused the record itself.

    Moved here from the outbox in one transaction. The broker's dead-letter queue keeps messages
    for a limited time (7 days by default); this table keeps them until an operator replays them
    (``manage.py ingest_deadletters --replay`` puts them back in the outbox).
    """

    uuid = models.UUIDField(unique=True, editable=False, verbose_name="record id")
    # No database constraint: the missing client can be the very reason the record failed.
    client = models.ForeignKey(
        "accounts.Client", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", null=True
    )
    payload = models.JSONField(help_text="The record as it was queued; what a replay sends again.")
    error = models.TextField()
    message_id = models.CharField(max_length=64, blank=True, help_text="The Dramatiq message that carried it.")
    attempts = models.PositiveIntegerField(default=1, help_text="How many times it has failed.")
    failed_at = models.DateTimeField(default=timezone.now)
    replayed_at = models.DateTimeField(null=True, blank=True, help_text="Empty until an operator replays it.")

    class Meta:
        ordering = ["-failed_at"]
        verbose_name = "failed ingest record"
        indexes = [
            models.Index(fields=["failed_at"], condition=Q(replayed_at__isnull=True), name="ingest_failed_pending_idx")
        ]

    def __str__(self) -> str:
        return f"{self.uuid} ({'replayed' if self.replayed_at else 'failed'})"
