from __future__ import annotations

from django.conf import settings

KINDS = ("text", "image", "ai")


def prices() -> dict[str, int]:
    """The price in tokens of each meme kind (``settings.BILLING["PRICES"]``, default 1 each)."""
    configured = settings.BILLING.get("PRICES", {})
    return {kind: int(configured.get(kind, 1)) for kind in KINDS}


def price_for(kind: str) -> int:
    """Tokens charged for serving one meme of ``kind`` ("text", "image" or "ai")."""
    if kind not in KINDS:
        raise ValueError(f"Unknown meme kind {kind!r}; expected one of {', '.join(KINDS)}.")
    return int(settings.BILLING.get("PRICES", {}).get(kind, 1))
