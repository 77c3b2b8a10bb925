"""``manage.py deactivate_client ID``: stop a client's API keys and JWTs at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Client
from accounts.services import client_deactivate
from config.cache import REDIS_OUTAGE


class Command(BaseCommand):
    help = (
        "Deactivate a client: its API keys and every JWT issued to it are refused from the next request on, "
        "on every server. Its account, ledger and records stay."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client_id", type=int, help="The client's id (the admin shows it).")

    def handle(self, *args: Any, client_id: int, **options: Any) -> None:
        client = Client.objects.filter(pk=client_id).first()
        if client is None:
            raise CommandError(f"No client with id {client_id}.")
        client_deactivate(client=client)
        self.stdout.write(f"Deactivated client {client.name} (id {client.pk}): its keys and tokens are refused now.")
        if REDIS_OUTAGE.since:
            self.stderr.write(
                "Redis did not answer: servers that cannot reach it read the database and refuse the client now; "
                "the first server to see Redis back publishes the change to all of them. If no server saw the "
                "outage, a server may accept the client's JWTs for up to 10 minutes: run this command again "
                "once Redis answers."
            )
