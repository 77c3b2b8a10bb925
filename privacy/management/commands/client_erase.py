from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.selectors import client_exists
from privacy.services import client_erase


class Command(BaseCommand):
    help = (
        "Erase a client's personal data (right to erasure): profile, keys (revoked), webhooks, ingest records, "
        "AI memes, the personal columns of its ledger. Its ledger amounts stay, under the pseudonym erased-<id>. "
        "Irreversible: run client_export first if the client asked for its data too."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client_id", type=int, help="The client's id.")
        parser.add_argument("--yes", action="store_true", help="Confirm: this cannot be undone.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["yes"]:
            raise CommandError("Erasure cannot be undone: add --yes to confirm.")
        if not client_exists(client_id=options["client_id"]):
            raise CommandError(f"No client with id {options['client_id']}.")
        summary = client_erase(client_id=options["client_id"])
        self.stdout.write(
            f"Client {summary.client_id} erased, now {summary.pseudonym}: {summary.webhooks} webhooks, "
            f"{summary.ingest_records} ingest records and {summary.ai_memes} AI memes deleted; "
            f"{summary.ledger_entries_redacted} ledger entries redacted, amounts kept."
        )
