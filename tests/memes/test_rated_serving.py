"""Serving within a rating ceiling: the caller's ``rating`` (default pg-13), bounded by the limit an
operator set on the client; above it a meme does not exist (404, nothing charged), JSON and PNG alike."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import Client
from billing.selectors import account_balance
from memes.models import Meme
from memes.services import catalogue_changed

pytestmark = pytest.mark.django_db
URL = "/api/memes"


@pytest.fixture
def caller(make_client):
    def _caller(*, tokens: int = 10, max_rating: str = ""):
        client, key = make_client(tokens=tokens)
        if max_rating:
            client.max_rating = max_rating
            client.save()  # the signal clears the cached key record, as an admin edit does
        api = APIClient()
        api.credentials(HTTP_X_TOKEN=key)
        return client, api

    return _caller


def pg13_meme() -> Meme:
    return Meme.objects.get(source_id=111)  # Courage Wolf: moderate profanity


def test_every_meme_says_its_rating_and_the_default_ceiling_is_pg13(catalogue, caller):
    _, api = caller()
    body = api.get(URL, {"query": "fight anyway"}).json()
    assert [m["rating"] for m in body["memes"]] == ["pg-13"]
    body = api.get(URL, {"query": "pizza", "limit": "5"}).json()
    assert body["memes"] and all(m["rating"] in {"g", "pg", "pg-13"} for m in body["memes"])


def test_a_lower_ceiling_hides_the_meme_and_charges_nothing(catalogue, caller):
    client, api = caller(tokens=5)
    for params in (
        {"query": "fight anyway", "rating": "pg"},
        {"query": "fight anyway", "rating": "g", "fuzzy": "true"},
    ):
        response = api.get(URL, params)
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "no_match"
    assert account_balance(client_id=client.pk) == 5


@pytest.mark.parametrize("value", ["x", "PG", "blocked", "nc-17", ""])
def test_an_invalid_rating_is_a_400(catalogue, caller, value):
    client, api = caller(tokens=5)
    response = api.get(URL, {"query": "pizza", "rating": value})
    assert response.status_code == 400
    assert "rating" in response.json()["error"]["details"]
    assert api.get(f"{URL}/{pg13_meme().pk}", {"rating": value}).status_code == 400
    assert account_balance(client_id=client.pk) == 5


def test_by_id_and_png_above_the_ceiling_are_404_and_free(catalogue, caller):
    client, api = caller(tokens=10)
    meme = pg13_meme()
    for url in (f"{URL}/{meme.pk}", f"{URL}/{meme.pk}.png"):
        response = api.get(url, {"rating": "pg"})
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert account_balance(client_id=client.pk) == 10
    assert api.get(f"{URL}/{meme.pk}").json()["memes"][0]["rating"] == "pg-13"  # default pg-13: served
    assert api.get(f"{URL}/{meme.pk}.png").status_code == 200
    assert account_balance(client_id=client.pk) == 8


def test_blocked_memes_are_never_served_even_under_r(catalogue, caller):
    _, api = caller()
    blocked = Meme.objects.filter(rating="blocked").first()
    assert blocked is not None
    assert api.get(f"{URL}/{blocked.pk}", {"rating": "r"}).status_code == 404
    assert api.get(f"{URL}/{blocked.pk}.png", {"rating": "r"}).status_code == 404
    assert api.get(URL, {"query": "followers", "rating": "r"}).status_code == 404


def test_the_operators_limit_wins_and_a_client_cannot_lift_it(catalogue, caller):
    client, api = caller(tokens=10, max_rating="pg")
    meme = pg13_meme()
    assert api.get(URL, {"query": "fight anyway", "rating": "r"}).status_code == 404
    assert api.get(f"{URL}/{meme.pk}", {"rating": "r"}).status_code == 404
    assert api.get(f"{URL}/{meme.pk}.png", {"rating": "r"}).status_code == 404
    assert account_balance(client_id=client.pk) == 10
    # Lifting the limit in the admin takes effect at once (the cached key record is cleared).
    client.max_rating = ""
    client.save()
    assert api.get(URL, {"query": "fight anyway", "rating": "r"}).status_code == 200


def test_the_operators_limit_travels_in_the_jwt(catalogue, caller):
    _, api = caller(max_rating="g")
    key = api._credentials["HTTP_X_TOKEN"]
    tokens = APIClient().post("/api/auth/token", {"api_key": key}, format="json").json()
    jwt = APIClient()
    jwt.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert jwt.get(URL, {"query": "fight anyway", "rating": "r"}).status_code == 404
    assert jwt.get(f"{URL}/{pg13_meme().pk}", {"rating": "pg-13"}).status_code == 404


def test_create_client_sets_the_max_rating():
    out = io.StringIO()
    call_command("create_client", "kids-app", "--max-rating", "g", stdout=out)
    assert Client.objects.get(name="kids-app").max_rating == "g"
    assert "max rating: g" in out.getvalue()


def test_a_hidden_meme_is_served_nowhere(catalogue, caller):
    _, api = caller()
    meme = Meme.objects.get(source_id=101)  # Paranoid Parrot
    assert api.get(URL, {"query": "paranoid"}).status_code == 200
    Meme.objects.filter(pk=meme.pk).update(hidden=True)
    catalogue_changed()
    assert api.get(URL, {"query": "paranoid"}).status_code == 404
    assert api.get(f"{URL}/{meme.pk}").status_code == 404


class _ScriptedGenerator:
    """Writes the captions it is given, in turn: the rules rate them as they would any caption."""

    name = "local"

    def __init__(self, captions: list[str]) -> None:
        self.captions = list(captions)
        self.calls = 0

    def generate(self, *, query, place, lang, seed=None):  # type: ignore[no-untyped-def]
        from memes.generation import GeneratedCaption

        text = self.captions[min(self.calls, len(self.captions) - 1)]
        self.calls += 1
        return GeneratedCaption(
            template="Courage Wolf", upper=text, lower="", text=text, generator="local", language="en"
        )


@pytest.fixture
def premium(make_client):
    from accounts.roles import PREMIUM_AI

    client, key = make_client(roles=[PREMIUM_AI], tokens=20)
    api = APIClient()
    api.credentials(HTTP_X_TOKEN=key)
    return client, api


def test_an_ai_caption_above_the_ceiling_is_generated_again(catalogue, premium, monkeypatch):
    import memes.services.serving as serving

    _, api = premium
    generator = _ScriptedGenerator(["what the hell pizza", "pizza for everyone"])  # pg, then g
    monkeypatch.setattr(serving, "generator_for", lambda: generator)
    body = api.get(URL, {"query": "pizza", "rating": "g"}).json()
    [meme] = body["memes"]
    assert (meme["kind"], meme["text"], meme["rating"]) == ("ai", "pizza for everyone", "g")
    assert generator.calls == 2
    assert Meme.objects.filter(kind="ai").values_list("rating", flat=True).get() == "g"


def test_no_ai_caption_within_the_ceiling_falls_back_to_the_catalogue(catalogue, premium, monkeypatch, settings):
    import memes.services.serving as serving

    settings.MEMES = {**getattr(settings, "MEMES", {}), "AI_RATING_TRIES": 2}
    _, api = premium
    generator = _ScriptedGenerator(["what the hell pizza"])  # always pg
    monkeypatch.setattr(serving, "generator_for", lambda: generator)
    body = api.get(URL, {"query": "pizza", "rating": "g"}).json()
    [meme] = body["memes"]
    assert meme["kind"] != "ai" and meme["rating"] == "g"
    assert generator.calls == 2
    assert not Meme.objects.filter(kind="ai").exists()  # nothing above the ceiling was stored
    assert body["billing"]["charged"] == 1


def test_an_ai_caption_within_the_ceiling_carries_its_rating(catalogue, premium, monkeypatch):
    import memes.services.serving as serving

    _, api = premium
    monkeypatch.setattr(serving, "generator_for", lambda: _ScriptedGenerator(["what the hell pizza"]))
    [meme] = api.get(URL, {"query": "pizza"}).json()["memes"]
    assert (meme["kind"], meme["rating"]) == ("ai", "pg")
    again = api.get(f"{URL}/{meme['id']}", {"rating": "g"})
    assert again.status_code == 404  # fetched again under a lower ceiling: as if it did not exist
