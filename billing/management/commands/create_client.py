from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction

from accounts.roles import ALL_ROLES, PREMIUM_AI
from accounts.services import UnknownRole, api_key_create, client_create
from billing.services import account_credit


class Command(BaseCommand):
    help = (
        "Create an API client with an API key (and optionally tokens and roles). "
        "The new API key is printed alone on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Unique client name (also its username).")
        parser.add_argument("--tokens", type=int, default=0, help="Initial token balance (a ledger credit).")
        parser.add_argument("--premium", action="store_true", help=f"Grant the '{PREMIUM_AI}' role.")
        parser.add_argument("--role", action="append", default=[], choices=ALL_ROLES, help="Grant a role (repeatable).")
        parser.add_argument(
            "--max-rating",
            default="",
            choices=["g", "pg", "pg-13", "r"],
            help="The highest content rating the client is ever served, whatever it asks (default: no limit).",
        )

    def handle(
        self, *args: Any, name: str, tokens: int, premium: bool, role: list[str], max_rating: str, **options: Any
    ) -> None:
        if tokens < 0:
            raise CommandError("--tokens must be zero or positive.")
        roles = set(role) | ({PREMIUM_AI} if premium else set())
        try:
            with transaction.atomic():
                client = client_create(name=name, roles=roles, max_rating=max_rating)
                if tokens:
                    account_credit(client_id=client.pk, amount=tokens, reason="initial tokens (create_client)")
                _, raw_key = api_key_create(client=client, name="created by create_client")
        except IntegrityError as exc:
            raise CommandError(f"A client named {name!r} already exists.") from exc
        except UnknownRole as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Created client {client.name} (id {client.pk}), roles: {', '.join(sorted(roles)) or '-'}, "
            f"tokens: {tokens}, max rating: {max_rating or 'none'}"
        )
        self.stdout.write("API key (shown once, store it now):")
        self.stdout.write(raw_key)
