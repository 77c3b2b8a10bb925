"""Billing's and accounts' events → webhook events.

These receivers run in ``on_commit`` callbacks of the code that made the change, sometimes a paid
call: an exception here would reach a caller whose work is already committed (a charged call
answering 500), so every failure is logged and swallowed. The cost of that choice is an event that
is never emitted when the database fails between the two commits; docs/webhooks.md says so.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from accounts import events as account_events
from billing import events as billing_events
from webhooks.models import EventType
from webhooks.services import event_emit

logger = logging.getLogger("maas.webhooks")


def _emit(client_id: int, type: str, data: dict[str, Any], threshold: int | None = None) -> None:
    try:
        event_emit(client_id=client_id, type=type, data={"client_id": client_id, **data}, threshold=threshold)
    except Exception:
        logger.exception("webhook event %s for client %s not emitted", type, client_id)


@receiver(billing_events.balance_threshold_crossed)
def _threshold_crossed(
    sender: Any, client_id: int, threshold: int, balance: int, balance_before: int, ledger_entry_id: int, **kwargs: Any
) -> None:
    data = {"threshold": threshold, "balance": balance, "balance_before": balance_before}
    _emit(client_id, EventType.BALANCE_BELOW_THRESHOLD, {**data, "ledger_entry_id": ledger_entry_id}, threshold)


@receiver(billing_events.balance_depleted)
def _depleted(sender: Any, client_id: int, balance_before: int, ledger_entry_id: int, **kwargs: Any) -> None:
    data = {"balance": 0, "balance_before": balance_before, "ledger_entry_id": ledger_entry_id}
    _emit(client_id, EventType.BALANCE_DEPLETED, data)


@receiver(billing_events.account_credited)
def _credited(
    sender: Any, client_id: int, amount: int, balance: int, ledger_entry_id: int, purchase_id: str | None, **kwargs: Any
) -> None:
    data = {"amount": amount, "balance": balance, "ledger_entry_id": ledger_entry_id, "purchase_id": purchase_id}
    _emit(client_id, EventType.TOPUP_CREDITED, data)


@receiver(account_events.api_key_created)
def _key_created(sender: Any, client_id: int, key_id: int, prefix: str, name: str, **kwargs: Any) -> None:
    _emit(client_id, EventType.KEY_CREATED, {"key_id": key_id, "prefix": prefix, "name": name})


@receiver(account_events.api_key_revoked)
def _key_revoked(sender: Any, client_id: int, key_id: int, prefix: str, name: str, **kwargs: Any) -> None:
    _emit(client_id, EventType.KEY_REVOKED, {"key_id": key_id, "prefix": prefix, "name": name})
