"""``manage.py import_memes FILE.csv [--languages LANG.csv] [--batch-size N]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from memes.exceptions import CatalogueFileError
from memes.services import catalogue_import

SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = (
        "Import a Library of Congress 'Meme Generator' CSV (2015 or 2019 columns). Idempotent: a meme is "
        "keyed on its LoC Meme ID, so re-importing updates instead of duplicating. Bad rows are reported "
        "with their line number and skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the catalogue CSV file")
        parser.add_argument(
            "--languages",
            metavar="LANG.csv",
            help="a 'Meme ID,Language' file; memes it does not cover get a detected language",
        )
        parser.add_argument("--batch-size", type=int, default=1000, help="rows per database write (default 1000)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            summary = catalogue_import(
                path=options["path"],
                languages_path=options["languages"],
                batch_size=options["batch_size"],
                progress=not options["no_progress"] and options["verbosity"] > 0,
            )
        except CatalogueFileError as exc:
            raise CommandError(str(exc)) from exc
        for error in summary.errors[:SHOWN_ERRORS]:
            self.stderr.write(f"skipped {error}")
        if summary.skipped > SHOWN_ERRORS:
            self.stderr.write(f"... and {summary.skipped - SHOWN_ERRORS} more skipped rows")
        self.stdout.write(
            f"Imported {summary.imported}, updated {summary.updated}, unchanged {summary.unchanged}, "
            f"skipped {summary.skipped} ({summary.format} format, {summary.seconds:.1f} s)."
        )
