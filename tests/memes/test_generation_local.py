"""The local AI generator against the database: training (command and on the fly), loading, choosing."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from memes.generation import GeneratedCaption, generator_for, generators_reset
from memes.generation import local as local_module
from memes.generation.local import LocalGenerator, registry
from memes.generation.openai import OpenAIGenerator
from memes.generation.training import language_normalize, model_path, training_captions, training_languages
from memes.geo import Place
from memes.models import Meme
from tests.memes.ai_corpus import ENGLISH, RUSSIAN, training_set, words_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _isolated_models(settings, tmp_path: Path):
    """Models are written to and read from this test's own directory; no process state leaks."""
    settings.MEMES = {**settings.MEMES, "AI_MODEL_DIR": str(tmp_path), "AI_GENERATOR": ""}
    registry.reset()
    generators_reset()
    yield
    registry.reset()
    generators_reset()


def make_memes(corpus, *, language: str, **extra) -> None:
    Meme.objects.bulk_create(
        Meme(
            template=template,
            upper_text=upper,
            lower_text=lower,
            text=f"{upper} {lower}",
            language=language,
            **extra,
        )
        for template, upper, lower in corpus
    )


@pytest.fixture
def catalogue() -> None:
    make_memes(ENGLISH, language="en")
    make_memes(RUSSIAN, language="ru")
    # Rows that must never teach the model anything:
    make_memes(
        [("Grumpy Cat", "zebrafoul words here", "zebrafoul")], language="en", is_safe=False, unsafe_reason="test"
    )
    make_memes([("Grumpy Cat", "robotloop caption", "robotloop")], language="en", kind="ai", generator="local")
    make_memes([("The Rape Sloth", "an innocent caption", "under a bad name")], language="en")


def test_training_uses_only_safe_catalogue_captions(catalogue) -> None:
    captions = list(training_captions(lang="en"))
    assert sorted(captions) == sorted(ENGLISH)  # not the unsafe row, not our AI meme, not the offensive template
    # Counted in SQL: the offensive template name is only filtered when the captions are read.
    assert training_languages(min_captions=5) == {"en": len(ENGLISH) + 1, "ru": len(RUSSIAN)}


def test_train_ai_writes_one_model_per_language(catalogue, tmp_path: Path, capsys) -> None:
    call_command("train_ai", "--min-captions", "5")
    for lang, corpus in (("en", ENGLISH), ("ru", RUSSIAN)):
        data = json.loads(model_path(lang).read_text())
        assert data["lang"] == lang and data["captions"] == len(corpus)
        assert "zebrafoul" not in model_path(lang).read_text()
        assert "robotloop" not in model_path(lang).read_text()
    assert "trained 2 model(s)" in capsys.readouterr().out


def test_train_ai_for_one_language_into_another_directory(catalogue, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    call_command("train_ai", "--lang", "ru", "--output-dir", str(out))
    assert (out / "ai_model_ru.json").exists()
    assert not (out / "ai_model_en.json").exists()


def test_train_ai_refuses_a_language_without_captions(catalogue) -> None:
    with pytest.raises(CommandError, match="no safe captions in language"):
        call_command("train_ai", "--lang", "fr")


def test_train_ai_on_an_empty_catalogue_says_what_to_do() -> None:
    with pytest.raises(CommandError, match="import memes first"):
        call_command("train_ai")


def test_generator_trains_on_the_fly_once_and_says_so(catalogue, caplog) -> None:
    generator = LocalGenerator()
    with caplog.at_level(logging.INFO, logger="memes.generation"):
        first = generator.generate(query="coffee", place=None, lang="en", seed=3)
        second = generator.generate(query="pizza", place=None, lang="en", seed=4)
    trained = [r for r in caplog.records if "ai_model_trained_on_the_fly" in r.getMessage()]
    assert len(trained) == 1 and "lang=en" in trained[0].getMessage()
    assert isinstance(first, GeneratedCaption)
    assert first.generator == "local" and first.language == "en"
    assert "COFFEE" in first.text and "PIZZA" in second.text
    assert first.text == f"{first.upper} {first.lower}".strip()
    assert words_of(first.upper, first.lower) not in training_set(ENGLISH)


def test_generator_uses_the_trained_file_and_reloads_it_when_it_changes(catalogue, monkeypatch) -> None:
    monkeypatch.setattr(local_module, "_RECHECK_SECONDS", 0.0)
    call_command("train_ai", "--lang", "en")
    generator = LocalGenerator()
    assert generator.model_for("en").captions == len(ENGLISH)
    make_memes([("Success Kid", "Found a quokka in the garden", "it smiled back")], language="en")
    call_command("train_ai", "--lang", "en")
    os.utime(model_path("en"), ns=(1, 2))  # a different mtime even on a coarse clock
    assert generator.model_for("en").captions == len(ENGLISH) + 1


def test_same_seed_same_meme_through_the_generator(catalogue) -> None:
    generator = LocalGenerator()
    place = Place(city="Lisbon", region="Lisbon", country="Portugal", country_code="PT", distance_km=1.0)
    first = generator.generate(query="monday", place=place, lang="en", seed=42)
    again = generator.generate(query="monday", place=place, lang="en", seed=42)
    assert first == again


def test_caption_mentions_the_place_of_the_client(catalogue) -> None:
    generator = LocalGenerator()
    place = Place(city="Lisbon", region="Lisbon", country="Portugal", country_code="PT", distance_km=1.0)
    for seed in range(10):
        assert "LISBON" in generator.generate(query="", place=place, lang="en", seed=seed).text


def test_place_far_from_land_is_left_out(catalogue) -> None:
    caption = LocalGenerator().generate(query="coffee", place=None, lang="en", seed=1)
    assert "COFFEE" in caption.text


def test_russian_client_gets_a_russian_caption(catalogue) -> None:
    caption = LocalGenerator().generate(query="кофе", place=None, lang="ru-RU", seed=5)
    assert caption.language == "ru" and "КОФЕ" in caption.text


def test_language_without_captions_falls_back_to_the_default_language(catalogue) -> None:
    caption = LocalGenerator().generate(query="pizza", place=None, lang="ja", seed=1)
    assert caption.language == "en" and "PIZZA" in caption.text


def test_empty_catalogue_still_gives_a_meme() -> None:
    caption = LocalGenerator().generate(query="pizza", place=None, lang="en", seed=1)
    assert caption.generator == "local" and "PIZZA" in caption.text


def test_language_codes_are_normalised_and_never_reach_the_file_system_raw(settings) -> None:
    assert language_normalize("en-US") == "en"
    assert language_normalize("PT_br") == "pt"
    assert language_normalize("../../etc/passwd") == "en"
    assert language_normalize(None) == "en"
    assert model_path("../x").name == "ai_model_en.json"


def test_generator_for_picks_the_configured_backend(settings) -> None:
    assert isinstance(generator_for(), LocalGenerator)
    assert generator_for() is generator_for("local")  # one shared instance per process
    settings.MEMES = {**settings.MEMES, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "k"}
    generators_reset()
    assert isinstance(generator_for(), OpenAIGenerator)
    settings.MEMES = {**settings.MEMES, "AI_GENERATOR": "local"}
    generators_reset()
    assert isinstance(generator_for(), LocalGenerator)
    with pytest.raises(ValueError, match="unknown meme generator"):
        generator_for("skynet")


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_train_the_model_once(caplog) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    make_memes(ENGLISH, language="en")
    generator = LocalGenerator()

    def one(seed: int) -> str:
        try:
            return generator.generate(query="coffee", place=None, lang="en", seed=seed).text
        finally:
            connection.close()  # each thread opened its own connection

    with caplog.at_level(logging.INFO, logger="memes.generation"), ThreadPoolExecutor(max_workers=6) as pool:
        texts = list(pool.map(one, range(12)))
    assert all("COFFEE" in text for text in texts)
    trained = [r for r in caplog.records if "ai_model_trained_on_the_fly" in r.getMessage()]
    assert len(trained) == 1
