"""Prometheus series of billing: top-ups (paid calls and the tokens they charge are counted where
the meme is served, ``memes.metrics``). Multiprocess-safe like every counter here (``config.metrics``)."""

from __future__ import annotations

from prometheus_client import Counter

_topups = Counter(
    "maas_topups",
    "Top-ups (POST /api/billing/topups) by outcome: credited, or replayed (the purchase_id was already credited).",
    ["outcome"],
)
TOPUPS = {outcome: _topups.labels(outcome=outcome) for outcome in ("credited", "replayed")}
TOPUP_TOKENS = Counter("maas_topup_tokens", "Tokens credited by top-ups (replays credit nothing and are not counted).")
