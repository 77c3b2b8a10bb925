"""System checks: a price or limit that cannot work is reported at startup, not at the first call."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from billing.conf import DEFAULTS, billing_setting
from billing.services.pricing import KINDS


@register()
def billing_settings_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    for kind in KINDS:
        price = billing_setting("PRICES").get(kind, DEFAULTS["PRICES"][kind])
        if isinstance(price, bool) or not isinstance(price, int) or price < 1:
            errors.append(
                Error(
                    f"BILLING['PRICES'][{kind!r}] must be a positive whole number of tokens, not {price!r}.",
                    hint=f"Set BILLING_PRICE_{kind.upper()} to 1 or more.",
                    id="billing.E001",
                )
            )
    if int(billing_setting("TOPUP_MAX_TOKENS")) < 1 or int(billing_setting("IDEMPOTENCY_TTL_HOURS")) < 1:
        errors.append(
            Error("BILLING_TOPUP_MAX_TOKENS and BILLING_IDEMPOTENCY_TTL_HOURS must be 1 or more.", id="billing.E002")
        )
    return errors
