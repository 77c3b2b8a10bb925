"""The roles a client can hold.

``billing.topup`` and ``ingest`` are Django groups of the same name (created by a data migration),
granted in the admin. ``premium_ai`` is the premium subscription: a role while an
:class:`accounts.models.Subscription` is active, so it can end on a date without anyone acting.
"""

from __future__ import annotations

PREMIUM_AI = "premium_ai"  # AI-generated memes (subscription)
BILLING_TOPUP = "billing.topup"  # may credit any client's token account (group)
INGEST = "ingest"  # may post ingest records (group)

GROUP_ROLES = (BILLING_TOPUP, INGEST)
ALL_ROLES = (PREMIUM_AI, *GROUP_ROLES)
