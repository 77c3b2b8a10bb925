"""A client's data export: everything MaaS stores about it, as one JSON-able document.

Each app says what it holds through its own selector; this module only assembles them, so a new
table of personal data is exported by adding it to its app's export selector (docs/privacy.md lists
them). There is no reports model yet; when one lands, its app adds a selector and this a key.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from accounts.selectors import client_profile_export
from billing.selectors import account_balance, ledger_export_rows
from ingest.selectors import records_export
from memes.selectors import memes_owned_export
from webhooks.selectors import webhook_export

FORMAT_VERSION = 1


def client_export(*, client_id: int) -> dict[str, Any]:
    """Raises ``Client.DoesNotExist`` for an unknown id."""
    profile = client_profile_export(client_id=client_id)
    return {
        "format": f"maas-client-export/{FORMAT_VERSION}",
        "exported_at": timezone.now(),
        **profile,
        "billing": {
            "balance": account_balance(client_id=client_id),
            # Every paid call is a ledger debit (type "paid_call"), with what was asked for.
            "ledger": list(ledger_export_rows(client_id=client_id)),
        },
        "ingest_records": records_export(client_id=client_id),
        "ai_memes": memes_owned_export(client_id=client_id),
        "webhooks": webhook_export(client_id=client_id),
    }
