from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from billing.services import idempotency_records_purge


class Command(BaseCommand):
    help = "Delete stored Idempotency-Key outcomes older than their lifetime (BILLING_IDEMPOTENCY_TTL_HOURS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-hours", type=int, default=None, help="Override the lifetime.")

    def handle(self, *args: Any, older_than_hours: int | None, **options: Any) -> None:
        older_than = timedelta(hours=older_than_hours) if older_than_hours is not None else None
        deleted = idempotency_records_purge(older_than=older_than)
        self.stdout.write(f"Deleted {deleted} idempotency record(s).")
