"""Billing writes. Other apps call these (and only these):

- :func:`account_credit` — add tokens (operators, commands, tests);
- :func:`topup_create` — idempotent purchase top-ups;
- a paid call, in steps: :func:`paid_request_read` (what billing needs of the HTTP request),
  :func:`paid_call_replay` (an ``Idempotency-Key`` seen before), :func:`account_funds_check`
  (can the client pay at all?), :func:`account_debit` (charge for what was served, exactly once);
- :func:`account_alert_thresholds_set` — the balances whose crossing :mod:`billing.events` announces;
- :func:`ledger_personal_data_erase` — a client's erasure: personal text out, amounts kept;
- :func:`price_for` — the configured price of a meme kind.
"""

from billing.services.credits import (
    TopUpResult,
    account_alert_thresholds_set,
    account_credit,
    account_ensure,
    topup_create,
)
from billing.services.erasure import ledger_personal_data_erase
from billing.services.paid_calls import (
    PaidCallResult,
    PaidRequest,
    account_debit,
    account_funds_check,
    idempotency_records_purge,
    paid_call_replay,
    paid_request_read,
)
from billing.services.pricing import price_for, prices

__all__ = [
    "PaidCallResult",
    "PaidRequest",
    "TopUpResult",
    "account_alert_thresholds_set",
    "account_credit",
    "account_debit",
    "account_ensure",
    "account_funds_check",
    "idempotency_records_purge",
    "ledger_personal_data_erase",
    "paid_call_replay",
    "paid_request_read",
    "price_for",
    "prices",
    "topup_create",
]
