from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from accounts.roles import PREMIUM_AI
from accounts.selectors import client_by_name
from accounts.services import api_key_create, client_create
from billing.services import account_credit

DEMO_CLIENTS = {"demo": set(), "demo-premium": {PREMIUM_AI}}


class Command(BaseCommand):
    help = (
        "Create the demo clients for `make run` if absent (idempotent). Their API keys are kept in "
        "var/demo_keys (git-ignored, local development only) so they can be shown on every start."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tokens", type=int, default=1000, help="Tokens for a newly created demo client.")

    def handle(self, *args: Any, tokens: int, **options: Any) -> None:
        keys_file = settings.VAR_DIR / "demo_keys"
        known = (
            dict(line.split("=", 1) for line in keys_file.read_text().split() if "=" in line)
            if keys_file.exists()
            else {}
        )
        for name, roles in DEMO_CLIENTS.items():
            client = client_by_name(name=name)
            if client is None:
                client = client_create(name=name, roles=roles)
                account_credit(client_id=client.pk, amount=tokens, reason="demo tokens (seed_demo)")
                known.pop(name, None)
            if name not in known:  # key lost or client new: issue a fresh one
                _, known[name] = api_key_create(client=client, name="demo key")
        keys_file.write_text("".join(f"{n}={k}\n" for n, k in known.items()))
        keys_file.chmod(0o600)
        for name, raw_key in known.items():
            self.stdout.write(f"{name:13} X-Token: {raw_key}")
        self.stdout.write(
            f'Try: curl -H "X-Token: {known["demo"]}" "http://127.0.0.1:8000/api/memes?query=cat&lat=48.85&lon=2.35"'
        )
