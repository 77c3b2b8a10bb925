from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from memes.services.catalogue import catalogue_rerate


class Command(BaseCommand):
    help = (
        "Rate every meme again with the current rules (memes/rating/rules), e.g. after editing them. "
        "Batched, idempotent; leaves memes an operator decided alone; search processes pick the change up."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=2000, help="memes per batch (default 2000)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        summary = catalogue_rerate(batch_size=options["batch_size"], progress=not options["no_progress"])
        self.stdout.write(
            f"rated {summary.rated}, changed {summary.changed}, left to operators {summary.decided} "
            f"({summary.seconds:.1f} s)"
        )
