"""A client's erasure ("right to be forgotten"), across the apps, in one transaction."""

from __future__ import annotations

import dataclasses
import logging

from django.db import transaction

from accounts.services import client_personal_data_erase
from billing.services import ledger_personal_data_erase
from ingest.services import client_records_erase
from memes.services import memes_owned_erase
from webhooks.services import client_webhooks_erase

logger = logging.getLogger("maas.privacy")


@dataclasses.dataclass(frozen=True)
class ErasureSummary:
    client_id: int
    pseudonym: str
    webhooks: int
    ledger_entries_redacted: int
    ingest_records: int
    ai_memes: int


def client_erase(*, client_id: int) -> ErasureSummary:
    """Remove the client's personal data and lock it out; keep the ledger's amounts under the
    pseudonym ``erased-<id>``, so the balance still equals the ledger and the books add up.

    All or nothing: one transaction. Webhooks go first, so the key revocations that follow tell
    no one (an erased client has no receiver any more). Raises ``Client.DoesNotExist``.
    """
    with transaction.atomic():
        webhooks = client_webhooks_erase(client_id=client_id)
        pseudonym = client_personal_data_erase(client_id=client_id)
        redacted = ledger_personal_data_erase(client_id=client_id)
        records = client_records_erase(client_id=client_id)
        memes = memes_owned_erase(client_id=client_id)
    logger.info("client erased client_id=%s pseudonym=%s", client_id, pseudonym)
    return ErasureSummary(client_id, pseudonym, webhooks, redacted, records, memes)
