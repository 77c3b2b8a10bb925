"""Content ratings: g < pg < pg-13 < r < blocked, from rules kept as data per language.

``rate_text`` rates a caption or a template name, ``rate_meme`` a whole meme; see
:mod:`memes.rating.engine` for how words are matched through disguises, :mod:`memes.rating.levels`
for the scale, and ``docs/safety.md`` for what each level admits and how to add rules.
"""

from memes.rating.engine import Rating, mask, rate_meme, rate_text, rated_languages, rules_reload
from memes.rating.levels import BLOCKED, CEILINGS, DEFAULT_CEILING, LEVELS, RANK, rank_of, stricter, within

__all__ = [
    "BLOCKED",
    "CEILINGS",
    "DEFAULT_CEILING",
    "LEVELS",
    "RANK",
    "Rating",
    "mask",
    "rank_of",
    "rate_meme",
    "rate_text",
    "rated_languages",
    "rules_reload",
    "stricter",
    "within",
]
