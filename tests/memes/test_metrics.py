"""/metrics counts what paid meme calls did: outcome, tokens by kind, search time by mode, AI
generation time and fallbacks, the PNG cache. Driven through the API, read from the scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.roles import PREMIUM_AI
from memes.generation.factory import generators_reset
from tests.metrics_scrape import scrape, value

pytestmark = pytest.mark.django_db
URL = "/api/memes"


@pytest.fixture
def caller(make_client: Callable[..., Any]) -> Callable[..., APIClient]:
    def _caller(*, tokens: int = 10, premium: bool = False) -> APIClient:
        _, key = make_client(roles=[PREMIUM_AI] if premium else [], tokens=tokens)
        api = APIClient()
        api.credentials(HTTP_X_TOKEN=key)
        return api

    return _caller


def _deltas(
    before: dict[Any, float], after: dict[Any, float], name: str, label: str, values: list[str]
) -> dict[str, float]:
    return {v: value(after, name, **{label: v}) - value(before, name, **{label: v}) for v in values}


def test_paid_calls_are_counted_by_outcome_and_tokens_by_kind(catalogue: Any, caller: Callable[..., APIClient]) -> None:
    rich, poor = caller(tokens=100), caller(tokens=0)
    before = scrape()

    expected = {"text": 0, "image": 0, "ai": 0}
    json_call = rich.get(URL, {"query": "paranoid"})  # served: 1 token at its kind's price
    assert json_call.status_code == 200
    expected[json_call.json()["memes"][0]["kind"]] += 1
    assert rich.get(URL, {"query": "paranoid", "format": "image"}).status_code == 200  # served: the image price
    expected["image"] += 1
    keyed = rich.get(URL, {"query": "cat"}, HTTP_IDEMPOTENCY_KEY="k-1")  # served
    assert keyed.status_code == 200
    expected[keyed.json()["memes"][0]["kind"]] += 1
    assert rich.get(URL, {"query": "cat"}, HTTP_IDEMPOTENCY_KEY="k-1").status_code == 200  # replayed
    assert rich.get(URL, {"query": "xylophone quokka"}).status_code == 404  # no match
    assert rich.get("/api/memes/999999").status_code == 404  # no such meme
    assert poor.get(URL, {"query": "paranoid"}).status_code == 402
    assert rich.get(URL, {"query": ""}).status_code == 400  # not a paid call's outcome: not counted here

    after = scrape()
    outcomes = _deltas(
        before, after, "maas_paid_calls_total", "outcome", ["served", "replayed", "insufficient_tokens", "not_found"]
    )
    assert outcomes == {"served": 3, "replayed": 1, "insufficient_tokens": 1, "not_found": 2}
    tokens = _deltas(before, after, "maas_tokens_charged_total", "kind", ["text", "image", "ai"])
    assert tokens == expected  # the replay charged nothing


def test_search_time_is_observed_by_mode(catalogue: Any, caller: Callable[..., APIClient]) -> None:
    api = caller(tokens=10)
    before = scrape()
    api.get(URL, {"query": "paranoid"})
    api.get(URL, {"query": "paran", "fuzzy": "true"})
    api.get(URL, {"query": "paran", "fuzzy": "true"})
    after = scrape()
    counts = _deltas(before, after, "maas_search_seconds_count", "mode", ["exact", "fuzzy"])
    assert counts == {"exact": 1, "fuzzy": 2}
    fuzzy_time = value(after, "maas_search_seconds_sum", mode="fuzzy") - value(
        before, "maas_search_seconds_sum", mode="fuzzy"
    )
    assert 0 < fuzzy_time < 5


def test_png_cache_hits_and_misses_are_counted(catalogue: Any, caller: Callable[..., APIClient]) -> None:
    api = caller(tokens=10)
    meme_id = api.get(URL, {"query": "paranoid"}).json()["memes"][0]["id"]
    before = scrape()
    for _ in range(3):
        assert api.get(f"/api/memes/{meme_id}.png").status_code == 200
    after = scrape()
    assert _deltas(before, after, "maas_png_cache_lookups_total", "result", ["hit", "miss"]) == {"hit": 2, "miss": 1}


@pytest.fixture
def openai_not_configured(settings: Any) -> Iterator[None]:
    """The OpenAI backend chosen but given no URL or key: every caption falls back to the local model."""
    settings.MEMES = {**settings.MEMES, "AI_GENERATOR": "openai", "OPENAI_BASE_URL": "", "OPENAI_API_KEY": ""}
    generators_reset()
    yield
    generators_reset()


def test_ai_generation_is_timed_and_fallbacks_counted(
    catalogue: Any, caller: Callable[..., APIClient], openai_not_configured: None
) -> None:
    premium = caller(tokens=10, premium=True)
    before = scrape()
    for _ in range(2):
        response = premium.get(URL, {"query": "cat"})
        assert response.status_code == 200
        assert response.json()["memes"][0]["generator"] == "local"
    after = scrape()
    assert (
        value(after, "maas_ai_fallbacks_total", reason="not_configured")
        - value(before, "maas_ai_fallbacks_total", reason="not_configured")
        == 2
    )
    assert (
        value(after, "maas_ai_generation_seconds_count", generator="local")
        - value(before, "maas_ai_generation_seconds_count", generator="local")
        == 2
    )
    assert (
        value(after, "maas_tokens_charged_total", kind="ai") - value(before, "maas_tokens_charged_total", kind="ai")
        == 2
    )
