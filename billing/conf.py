"""The billing app's settings: ``settings.BILLING`` (a dict) over the defaults below.

Read at call time, never cached at import, so tests can override them with the ``settings`` fixture.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Tokens charged per meme served, by meme kind (a kind left out costs 1).
    "PRICES": {"text": 1, "image": 1, "ai": 1},
    # How long an Idempotency-Key's answer is replayed.
    "IDEMPOTENCY_TTL_HOURS": 24,
    # The most tokens one top-up may credit.
    "TOPUP_MAX_TOKENS": 10_000_000,
    # On PostgreSQL a debit is one statement (billing.services.paid_calls); False: the portable
    # select_for_update() path that SQLite takes (tests run both).
    "SINGLE_STATEMENT_ON_POSTGRES": True,
}


def billing_setting(name: str) -> Any:
    return getattr(settings, "BILLING", {}).get(name, DEFAULTS[name])
