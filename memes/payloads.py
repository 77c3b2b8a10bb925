"""The JSON bodies of the paid meme endpoints, built in one place.

Plain dicts, not DRF serializers: a serializer costs ~50 µs per object on a path whose whole budget
is a few milliseconds. ``memes.serializers`` documents the same shape for the OpenAPI schema, and a
test keeps the two in step.
"""

from __future__ import annotations

from typing import Any

from memes.geo import Place
from memes.models import Meme
from memes.search.engine import MemeHit


def png_url(meme_id: int) -> str:
    """The stable URL of a meme's picture (``memes:png``), built without ``reverse()`` on the hot path."""
    return f"/api/memes/{meme_id}.png"


def hit_payload(hit: MemeHit) -> dict[str, Any]:
    """One catalogue meme of an answer."""
    return {
        "id": hit.id,
        "template": hit.template,
        "text": hit.text,
        "kind": hit.kind,
        "generator": None,
        "image_url": hit.image_url or None,
        "png_url": png_url(hit.id),
        "match": {"type": hit.match, "score": hit.score},
        "rating": hit.rating,
    }


def memes_payload(hits: list[MemeHit], place: Place | None) -> dict[str, Any]:
    """The answer of a search: ``{"memes": [...], "place": {...} | null}``."""
    return {"memes": [hit_payload(hit) for hit in hits], "place": place.as_dict() if place else None}


def ai_meme_payload(meme: Meme, place: Place | None) -> dict[str, Any]:
    """The answer serving one AI meme (made now near ``place``, or fetched again by id)."""
    return {
        "memes": [
            {
                "id": meme.pk,
                "template": meme.template,
                "text": meme.text,
                "kind": meme.kind,
                "generator": meme.generator,
                "image_url": png_url(meme.pk),
                "png_url": png_url(meme.pk),
                "match": {"type": "generated", "score": None},
                "rating": meme.rating,
            }
        ],
        "place": place.as_dict() if place else None,
    }


def meme_payload(meme: Meme) -> dict[str, Any]:
    """The answer serving one meme fetched by id: an AI meme as made, a catalogue meme as a search hit."""
    if meme.kind == Meme.Kind.AI:
        return ai_meme_payload(meme, None)
    hit = MemeHit(
        id=meme.pk,
        template=meme.template,
        text=meme.text,
        kind=meme.kind,
        image_url=meme.image_url,
        language=meme.language,
        match="id",
        score=1.0,
        rating=meme.rating,
    )
    return {"memes": [hit_payload(hit)], "place": None}
