from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ingest.selectors import outbox_pending_count, outbox_relayed_count
from ingest.services import outbox_relay_again


class Command(BaseCommand):
    help = (
        "Inspect the ingest outbox (records accepted and not stored yet) and, after the broker lost "
        "its queues, relay them again: --relay-again marks every record already published as pending, "
        "and the workers' relays publish it at once. Records are stored once however often they are "
        "relayed. See docs/recovery.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--relay-again",
            action="store_true",
            help="Mark the records already published, and still not stored, as pending again.",
        )
        parser.add_argument(
            "--older-than",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="With --relay-again: only records published at least this long ago (default 0: all).",
        )

    def handle(self, *args: Any, relay_again: bool, older_than: float, **options: Any) -> None:
        if older_than < 0:
            raise CommandError("--older-than must be zero or positive.")
        if older_than and not relay_again:
            raise CommandError("--older-than goes with --relay-again.")
        if relay_again:
            count = outbox_relay_again(relayed_before=timezone.now() - timedelta(seconds=older_than))
            self.stdout.write(f"marked_for_relay={count}")
        total = outbox_pending_count()
        relayed = outbox_relayed_count()
        self.stdout.write(f"outbox_records={total} waiting_for_relay={total - relayed} relayed={relayed}")
