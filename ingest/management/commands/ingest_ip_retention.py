from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingest.conf import ingest_setting
from ingest.services import sent_from_ip_pseudonymise


class Command(BaseCommand):
    help = (
        "Truncate to /24 the sent-from-ip of ingest records older than N days (INGEST_IP_RETENTION_DAYS, "
        "default 30). Idempotent; run daily (deploy/k8s/retention/cronjob.yaml)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Override INGEST_IP_RETENTION_DAYS.")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else ingest_setting("IP_RETENTION_DAYS")
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        changed = sent_from_ip_pseudonymise(older_than=timedelta(days=days))
        self.stdout.write(f"{changed} sent-from-ip addresses older than {days} days truncated to /24.")
