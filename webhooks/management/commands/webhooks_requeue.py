from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from webhooks.services import deliveries_requeue


class Command(BaseCommand):
    help = (
        "Queue again the pending webhook deliveries whose message was lost (broker down when they were "
        "queued). Run it periodically (deploy/k8s/retention/ does, hourly)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than-minutes", type=int, default=120, help="Only deliveries not attempted for this long."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count = deliveries_requeue(older_than=timedelta(minutes=options["older_than_minutes"]))
        self.stdout.write(f"{count} deliveries queued again.")
