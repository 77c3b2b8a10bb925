from __future__ import annotations

from billing.conf import DEFAULTS, billing_setting

KINDS = ("text", "image", "ai")


def prices() -> dict[str, int]:
    """The price in tokens of each meme kind (``BILLING["PRICES"]``)."""
    return {kind: price_for(kind) for kind in KINDS}


def price_for(kind: str) -> int:
    """Tokens charged for serving one meme of ``kind`` ("text", "image" or "ai")."""
    if kind not in KINDS:
        raise ValueError(f"Unknown meme kind {kind!r}; expected one of {', '.join(KINDS)}.")
    return int(billing_setting("PRICES").get(kind, DEFAULTS["PRICES"][kind]))
