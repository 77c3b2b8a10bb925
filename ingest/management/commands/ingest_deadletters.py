from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingest.conf import ingest_setting
from ingest.deadletters import ForeignDeadLetter, dead_letters_count, dead_letters_import
from ingest.models import IngestFailedRecord
from ingest.selectors import failed_records_pending_count, outbox_pending_count
from ingest.services import failed_records_replay


class Command(BaseCommand):
    help = (
        "Inspect and replay ingest records that could not be stored: those set aside in the database "
        "(IngestFailedRecord) and the dead letters still in the broker's <queue>.XQ. "
        "--replay first moves the broker's dead letters into the database, then puts every pending "
        "failed record back in the outbox, from which the workers' relay queues it again with fresh retries."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--count", action="store_true", help="Print the counts (the default).")
        action.add_argument(
            "--list", dest="show_list", action="store_true", help="List pending failed records, oldest first."
        )
        action.add_argument("--replay", action="store_true", help="Put pending failed records back in the queue.")
        parser.add_argument("--limit", type=int, default=None, help="At most this many records (list, replay).")
        parser.add_argument(
            "--queue", default=None, help="Queue whose dead letters to read (default: INGEST['QUEUE_NAME'])."
        )

    def handle(
        self, *args: Any, show_list: bool, replay: bool, limit: int | None, queue: str | None, **options: Any
    ) -> None:
        if limit is not None and limit <= 0:
            raise CommandError("--limit must be a positive number.")
        queue_name = queue or ingest_setting("QUEUE_NAME")
        if replay:
            self._replay(queue_name, limit)
        elif show_list:
            self._list(limit or 50)
        self._count(queue_name)

    def _broker_count(self, queue_name: str) -> int | None:
        try:
            return dead_letters_count(queue_name=queue_name)
        except Exception as exc:  # the database figures are still worth printing
            self.stderr.write(f"broker dead-letter queue: unreadable ({type(exc).__name__}: {exc})")
            return None

    def _count(self, queue_name: str) -> None:
        self.stdout.write(f"failed_records_pending={failed_records_pending_count()}")
        self.stdout.write(f"outbox_pending={outbox_pending_count()}")
        broker_count = self._broker_count(queue_name)
        self.stdout.write(
            f"broker_dead_letters={'unknown' if broker_count is None else broker_count} queue={queue_name}"
        )

    def _list(self, limit: int) -> None:
        rows = IngestFailedRecord.objects.filter(replayed_at__isnull=True).order_by("failed_at", "id")[:limit]
        for row in rows:
            first_line = row.error.splitlines()[0] if row.error else ""
            self.stdout.write(
                f"id={row.uuid} client={row.client_id} failed_at={row.failed_at.isoformat()} "
                f"attempts={row.attempts} message={row.message_id or '-'} error={first_line[:200]!r}"
            )

    def _replay(self, queue_name: str, limit: int | None) -> None:
        def progress(done: int) -> None:
            if done % 100 == 0:
                self.stdout.write(f"imported_dead_letters={done}")

        try:
            imported = dead_letters_import(queue_name=queue_name, progress=progress)
        except ForeignDeadLetter as exc:
            raise CommandError(str(exc)) from exc
        except Exception as exc:
            raise CommandError(
                f"Could not read the broker's dead letters ({type(exc).__name__}: {exc}); nothing was replayed. "
                "Check BROKER_URL and that the broker is up."
            ) from exc
        self.stdout.write(f"imported_dead_letters={imported}")
        try:
            replayed = failed_records_replay(limit=limit)
        except Exception as exc:
            raise CommandError(f"Replay stopped ({type(exc).__name__}: {exc}); rerun to continue.") from exc
        self.stdout.write(self.style.SUCCESS(f"replayed={replayed}"))
