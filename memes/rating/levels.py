"""The rating scale, mildest first: what a meme may contain, and how levels compare.

``g`` < ``pg`` < ``pg-13`` < ``r`` < ``blocked``. A ceiling is one of the first four; ``blocked`` is
above every ceiling, so a blocked meme is never served, whatever anyone asks.
"""

from __future__ import annotations

from typing import Final

G: Final = "g"
PG: Final = "pg"
PG13: Final = "pg-13"
R: Final = "r"
BLOCKED: Final = "blocked"

LEVELS: Final = (G, PG, PG13, R, BLOCKED)
CEILINGS: Final = (G, PG, PG13, R)  # what a caller or an operator may ask for
DEFAULT_CEILING: Final = PG13
RANK: Final = {level: rank for rank, level in enumerate(LEVELS)}


def rank_of(level: str) -> int:
    """0 (g) .. 4 (blocked); ValueError for anything else."""
    try:
        return RANK[level]
    except KeyError:
        raise ValueError(f"unknown rating {level!r}: expected one of {', '.join(LEVELS)}") from None


def stricter(*levels: str | None) -> str:
    """The strictest of the given ceilings (None or "" means no limit); ``r`` when none limits."""
    given = [level for level in levels if level]
    return min(given, key=rank_of) if given else R


def within(level: str, ceiling: str) -> bool:
    """Whether a meme rated ``level`` may be served under ``ceiling`` (never when blocked)."""
    return level != BLOCKED and RANK[level] <= RANK[ceiling]
