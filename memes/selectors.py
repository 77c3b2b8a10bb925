"""Reads of the meme catalogue: search (in memory, see ``memes.search``) and the API's lookup."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from time import perf_counter
from typing import Any

from memes import metrics
from memes.exceptions import NoMatch
from memes.geo import Place, geo_warm, place_for
from memes.models import Meme
from memes.rating.levels import DEFAULT_CEILING, RANK
from memes.search.engine import MemeHit
from memes.search.holder import index_holder
from memes.text import words

__all__ = ["MemeHit", "MemeLookup", "meme_lookup", "meme_search", "memes_warm", "search_index_reset"]


def meme_search(
    *,
    query: str,
    fuzzy: bool = False,
    limit: int = 1,
    lang: str = "en",
    place: Place | None = None,
    rating: str = DEFAULT_CEILING,
    include_unsafe: bool = False,
) -> list[MemeHit]:
    """The best ``limit`` memes of language ``lang`` for ``query``, best first; [] when none matches.

    Answers from the process's in-memory index (no database query, except a version check at most
    once per second). Only memes rated ``rating`` (a ceiling) or milder, never blocked or hidden
    ones unless ``include_unsafe`` (moderation tools). Memes mentioning ``place`` rank higher among
    equally good matches. Thread-safe.
    """
    tokens = words(query)
    if not tokens or limit < 1:
        return []
    partition = index_holder.get().partitions.get(lang)
    if partition is None:
        return []
    search = partition.fuzzy if fuzzy else partition.exact
    max_rank = RANK["blocked"] if include_unsafe else RANK[rating]
    started = perf_counter()
    hits = search(tokens, limit=limit, place_terms=_place_terms(place), max_rank=max_rank)
    metrics.SEARCH_SECONDS["fuzzy" if fuzzy else "exact"].observe(perf_counter() - started)
    return hits


# Words of GeoNames names that captions leave out: "State of Berlin" is mentioned as "Berlin",
# "New York City" as "New York", "Russian Federation" as "Russian" (or by an alias below).
_GENERIC_PLACE_WORDS = frozenset(
    [
        "state",
        "of",
        "the",
        "city",
        "region",
        "province",
        "provincia",
        "oblast",
        "krai",
        "county",
        "district",
        "municipality",
        "prefecture",
        "metropolitan",
        "capital",
        "greater",
        "federation",
        "republic",
        "federal",
        "autonomous",
        "community",
        "de",
        "del",
        "la",
        "di",
    ]
)
# The names captions use for a few countries whose GeoNames name nobody writes.
_COUNTRY_ALIASES = {
    "US": ("usa", "america"),
    "GB": ("uk", "britain"),
    "RU": ("russia",),
    "KR": ("korea",),
    "CZ": ("czechia",),
}


@lru_cache(maxsize=4096)
def _place_terms(place: Place | None) -> list[list[str]]:
    """The place's names as folded word lists; a meme mentions the place when it has all words of one."""
    if place is None:
        return []
    names: dict[tuple[str, ...], None] = {}
    for name in (place.city, place.region, place.country):
        significant = tuple(word for word in words(name) if word not in _GENERIC_PLACE_WORDS)
        if significant:
            names[significant] = None
    for alias in _COUNTRY_ALIASES.get(place.country_code, ()):
        names[(alias,)] = None
    return [list(name) for name in names]


@dataclass(frozen=True)
class MemeLookup:
    hits: list[MemeHit]
    place: Place | None


def meme_lookup(
    *,
    query: str,
    fuzzy: bool = False,
    limit: int = 1,
    lang: str = "en",
    lat: float | None = None,
    lon: float | None = None,
    rating: str = DEFAULT_CEILING,
) -> MemeLookup:
    """What ``GET /api/memes`` answers: the place of (lat, lon) if any, and the hits. Raises NoMatch.

    ``memes.services.serving`` calls it to choose what a paid call serves, before the account is charged.
    """
    place = place_for(lat=lat, lon=lon) if lat is not None and lon is not None else None
    hits = meme_search(query=query, fuzzy=fuzzy, limit=limit, lang=lang, place=place, rating=rating)
    if not hits:
        raise NoMatch(
            f"No {'similar' if fuzzy else 'matching'} meme in language {lang!r} for this query.",
            details={"query": query, "lang": lang, "fuzzy": fuzzy},
        )
    return MemeLookup(hits=hits, place=place)


def memes_warm() -> None:
    """Build the search index and load the place data now (a server worker can call this before serving)."""
    index_holder.get()
    geo_warm()


def search_index_reset() -> None:
    """Forget this process's index; the next search rebuilds it (tests use this for isolation)."""
    index_holder.reset()


def memes_owned_export(*, client_id: int) -> list[dict[str, Any]]:
    """The AI memes generated for the client (a data export); catalogue memes belong to no one."""
    owned = Meme.objects.filter(owner_id=client_id).order_by("id")
    rows: Any = owned.values("id", "template", "text", "kind", "generator", "language", "place_name", "created_at")
    return list(rows)
