"""Serving memes for money: which meme a client gets (catalogue or AI), in which form (JSON or PNG),
and what it costs. Views call :func:`meme_serve` and :func:`meme_serve_by_id`, which read top to
bottom: a replay of the same ``Idempotency-Key``? → choose the meme → debit → answer, with
billing's steps (``billing.services``).

Who gets AI memes is decided from ``Principal.roles`` alone (JWT claims, or the cached API-key
record), so it costs no query: premium and normal calls run the same number of queries up to the
point where an AI meme is stored.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any, ParamSpec

from django.core.cache import cache
from django.db import transaction

from accounts.principal import Principal
from accounts.roles import PREMIUM_AI
from billing.exceptions import InsufficientTokens
from billing.services import (
    PaidCallResult,
    PaidRequest,
    account_debit,
    account_funds_check,
    paid_call_replay,
    price_for,
)
from memes import metrics
from memes.conf import memes_setting
from memes.exceptions import AiNotAllowed, MemeNotFound, NoMatch
from memes.generation import GeneratedCaption, generator_for
from memes.geo import place_for
from memes.models import Meme
from memes.payloads import ai_meme_payload, meme_payload, memes_payload
from memes.rating import DEFAULT_CEILING, Rating, rate_meme, stricter, within
from memes.rendering import render_meme_png
from memes.selectors import meme_lookup
from memes.services.catalogue import rating_fields

PNG_CACHE_SECONDS = 7 * 24 * 3600
P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class Served:
    """What a paid call produced: the JSON payload, or a PNG, and the billing outcome."""

    payload: dict[str, Any]
    billing: PaidCallResult
    png: bytes | None = None

    @property
    def meme_id(self) -> int:
        return int(self.payload["memes"][0]["id"])


def wants_ai(*, principal: Principal, ai: bool | None) -> bool:
    """Premium clients get AI memes unless they ask for the catalogue (``ai=false``); anyone else
    gets the catalogue, and asking for AI is a 403 rather than a silent downgrade."""
    premium = principal.has_role(PREMIUM_AI)
    if ai and not premium:
        raise AiNotAllowed()
    return premium if ai is None else ai


def ceiling_for(*, principal: Principal, rating: str | None) -> str:
    """The ceiling a call is served under: what it asked for (default pg-13) or the operator's limit
    on the client, whichever is stricter; a client cannot lift its own limit."""
    return stricter(rating or DEFAULT_CEILING, principal.max_rating)


def meme_png(*, meme_id: int) -> bytes:
    """The meme rendered as a PNG, cached: rendering is deterministic, so a meme's picture never
    changes, and the cache spares the 10-30 ms render on every later call."""
    key = f"memes:png:{meme_id}"
    png = cache.get(key)
    metrics.PNG_CACHE["hit" if png is not None else "miss"].inc()
    if png is None:
        meme = Meme.objects.filter(pk=meme_id).only("template", "upper_text", "lower_text", "text").first()
        if meme is None:  # deleted since it was served (the replay of an old Idempotency-Key)
            raise MemeNotFound()
        png = render_meme_png(upper=meme.upper_text or meme.text, lower=meme.lower_text, template=meme.template)
        cache.set(key, png, PNG_CACHE_SECONDS)
    return png


def meme_price(kind: str, *, as_image: bool) -> int:
    """JSON: the price of the meme's kind. PNG: the image price, or the AI price if higher for an AI
    meme (a picture of a generated meme is never cheaper than the meme)."""
    if not as_image:
        return price_for(kind)
    image = price_for("image")
    return max(image, price_for("ai")) if kind == Meme.Kind.AI else image


def _counted(serve: Callable[P, Served]) -> Callable[P, Served]:
    """Counts a paid call's outcome, and the tokens it charged by the kind that set their price
    (``memes.metrics``). A 403 or 422 is not a paid call's outcome: the HTTP series count those."""

    @functools.wraps(serve)
    def counted(*args: P.args, **kwargs: P.kwargs) -> Served:
        try:
            served = serve(*args, **kwargs)
        except InsufficientTokens:
            metrics.PAID_CALLS["insufficient_tokens"].inc()
            raise
        except (NoMatch, MemeNotFound):
            metrics.PAID_CALLS["not_found"].inc()
            raise
        charge = served.billing
        if charge.replayed:
            metrics.PAID_CALLS["replayed"].inc()
            return served
        metrics.PAID_CALLS["served"].inc()
        as_image = bool(kwargs.get("as_image", False))
        for meme in served.payload["memes"]:
            kind = meme.get("kind", Meme.Kind.TEXT)
            priced_as = kind if kind == Meme.Kind.AI or not as_image else Meme.Kind.IMAGE
            metrics.TOKENS_CHARGED.get(priced_as, metrics.TOKENS_CHARGED["text"]).inc(
                meme_price(kind, as_image=as_image)
            )
        return served

    return counted


@_counted
def meme_serve(
    *,
    principal: Principal,
    paid: PaidRequest,
    query: str,
    lang: str,
    fuzzy: bool = False,
    limit: int = 1,
    lat: float | None = None,
    lon: float | None = None,
    ai: bool | None = None,
    as_image: bool = False,
    rating: str | None = None,
) -> Served:
    """Serve the best meme(s) for the query and place, and charge for them exactly once.

    Only memes within the ceiling (``rating``, bounded by the client's own limit) are served.

    Raises ``NoMatch`` (404), ``AiNotAllowed`` (403), ``InsufficientTokens`` (402) or
    ``IdempotencyKeyReused`` (422); in every case nothing is charged.
    """
    use_ai = wants_ai(principal=principal, ai=ai)  # a 403 comes first, from the principal alone
    replay = paid_call_replay(client_id=principal.client_id, paid=paid)
    if replay is not None:
        return _served(replay, as_image=as_image)
    ceiling = ceiling_for(principal=principal, rating=rating)
    if use_ai:
        charge = _ai_meme_charge(
            principal=principal,
            paid=paid,
            query=query,
            lang=lang,
            lat=lat,
            lon=lon,
            as_image=as_image,
            ceiling=ceiling,
        )
    else:
        lookup = meme_lookup(
            query=query, fuzzy=fuzzy, limit=1 if as_image else limit, lang=lang, lat=lat, lon=lon, rating=ceiling
        )
        charge = account_debit(
            client_id=principal.client_id,
            amount=sum(meme_price(hit.kind, as_image=as_image) for hit in lookup.hits),
            paid=paid,
            payload=memes_payload(lookup.hits, lookup.place),
            reason="catalogue meme" + (" (image)" if as_image else ""),
            actor=f"client:{principal.client_id}",
        )
    return _served(charge, as_image=as_image)


def _served(charge: PaidCallResult, *, as_image: bool) -> Served:
    """The answer to a paid call: its JSON payload, and the PNG of its meme when one was asked for."""
    png = meme_png(meme_id=charge.payload["memes"][0]["id"]) if as_image else None
    return Served(payload=charge.payload, billing=charge, png=png)


def _ai_meme_charge(
    *,
    principal: Principal,
    paid: PaidRequest,
    query: str,
    lang: str,
    lat: float | None,
    lon: float | None,
    as_image: bool,
    ceiling: str,
) -> PaidCallResult:
    """A new AI meme for the client, stored and charged."""
    price = meme_price(Meme.Kind.AI, as_image=as_image)
    account_funds_check(client_id=principal.client_id, amount=price)  # don't generate for a client who cannot pay
    place = place_for(lat=lat, lon=lon) if lat is not None and lon is not None else None
    generated = _caption_within(query=query, place=place, lang=lang, ceiling=ceiling)
    if generated is None:
        # No caption within the ceiling after the allowed tries: a catalogue meme within it instead
        # (its own price), or a 404 like any search without a match. Never one above the ceiling.
        lookup = meme_lookup(query=query, limit=1, lang=lang, lat=lat, lon=lon, rating=ceiling)
        return account_debit(
            client_id=principal.client_id,
            amount=meme_price(lookup.hits[0].kind, as_image=as_image),
            paid=paid,
            payload=memes_payload(lookup.hits, lookup.place),
            reason="catalogue meme (AI caption above the rating ceiling)" + (" (image)" if as_image else ""),
            actor=f"client:{principal.client_id}",
        )
    caption, rating = generated
    with transaction.atomic():
        # Stored in the charge's transaction: if the charge fails, the meme is rolled back with it,
        # so a meme is stored if and only if it was paid for.
        meme = Meme.objects.create(
            kind=Meme.Kind.AI,
            generator=caption.generator,
            template=caption.template,
            upper_text=caption.upper,
            lower_text=caption.lower,
            text=caption.text,
            language=caption.language,
            owner_id=principal.client_id,
            place_name=place.city if place and place.city else "",
            country_code=place.country_code if place and place.country_code else "",
            **rating_fields(rating),
        )
        return account_debit(
            client_id=principal.client_id,
            amount=price,
            paid=paid,
            payload=ai_meme_payload(meme, place),
            reason="AI meme" + (" (image)" if as_image else ""),
            actor=f"client:{principal.client_id}",
        )


def _caption_within(*, query: str, place: Any, lang: str, ceiling: str) -> tuple[GeneratedCaption, Rating] | None:
    """A generated caption rated within ``ceiling`` (caption and template, the same rules as the
    catalogue), trying up to ``MEMES["AI_RATING_TRIES"]`` times; None when every try was above it."""
    generator = generator_for()
    for _ in range(max(1, int(memes_setting("AI_RATING_TRIES")))):
        started = perf_counter()
        caption = generator.generate(query=query, place=place, lang=lang)
        metrics.AI_SECONDS.labels(generator=caption.generator).observe(perf_counter() - started)
        rating = rate_meme(caption.text, caption.template, language=caption.language)
        if within(rating.level, ceiling):
            return caption, rating
    return None


def _visible_meme(*, principal: Principal, meme_id: int, ceiling: str) -> Meme:
    """A catalogue meme within the ceiling, or an AI meme generated for this client within it;
    anything else (blocked, hidden, above the ceiling) is a 404, as if it did not exist (never a
    403, which would tell that it exists)."""
    meme = Meme.objects.filter(pk=meme_id).first()
    if meme is None or meme.hidden or not meme.is_safe or not within(meme.rating, ceiling):
        raise MemeNotFound()
    if meme.kind == Meme.Kind.AI and meme.owner_id != principal.client_id:
        raise MemeNotFound()
    return meme


@_counted
def meme_serve_by_id(
    *, principal: Principal, paid: PaidRequest, meme_id: int, as_image: bool, rating: str | None = None
) -> Served:
    """Serve one meme again by its id (JSON or PNG), charged like any meme served; a meme above the
    ceiling (``rating`` bounded by the client's limit), hidden or blocked is a 404, nothing charged."""
    replay = paid_call_replay(client_id=principal.client_id, paid=paid)
    if replay is not None:
        return _served(replay, as_image=as_image)
    meme = _visible_meme(principal=principal, meme_id=meme_id, ceiling=ceiling_for(principal=principal, rating=rating))
    charge = account_debit(
        client_id=principal.client_id,
        amount=meme_price(meme.kind, as_image=as_image),
        paid=paid,
        payload=meme_payload(meme),
        reason="meme by id" + (" (image)" if as_image else ""),
        actor=f"client:{principal.client_id}",
    )
    return _served(charge, as_image=as_image)
