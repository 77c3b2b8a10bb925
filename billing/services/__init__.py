"""Billing writes. Other apps call these (and only these):

- :func:`account_credit` — add tokens (operators, commands, tests);
- :func:`topup_create` — idempotent purchase top-ups;
- :func:`paid_call` — serve something and charge for it exactly once;
- :func:`price_for` — the configured price of a meme kind.
"""

from billing.services.credits import TopUpResult, account_credit, account_ensure, topup_create
from billing.services.paid_calls import PaidCallResult, idempotency_records_purge, paid_call
from billing.services.pricing import price_for, prices

__all__ = [
    "PaidCallResult",
    "TopUpResult",
    "account_credit",
    "account_ensure",
    "idempotency_records_purge",
    "paid_call",
    "price_for",
    "prices",
    "topup_create",
]
