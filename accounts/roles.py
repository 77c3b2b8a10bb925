"""The roles a client can hold. Each is a Django group of the same name, so operators grant and
revoke them in the admin. The groups are created by a data migration."""

from __future__ import annotations

PREMIUM_AI = "premium_ai"  # AI-generated memes
BILLING_TOPUP = "billing.topup"  # may credit any client's token account
INGEST = "ingest"  # may post ingest records

ALL_ROLES = (PREMIUM_AI, BILLING_TOPUP, INGEST)
