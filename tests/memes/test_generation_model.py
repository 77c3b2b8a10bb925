# ruff: noqa: RUF001  (Cyrillic test captions are intended)
"""The local caption model on plain data: new, relevant, safe captions, the same for the same seed."""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import pytest

from memes.generation.model import CaptionModel, empty_model
from memes.safety import text_safety
from tests.memes.ai_corpus import ENGLISH, RUSSIAN, training_set, words_of

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def always_safe(text: str) -> bool:
    return True


@pytest.fixture(scope="module")
def english() -> CaptionModel:
    return CaptionModel(CaptionModel.train(ENGLISH, lang="en"))


@pytest.fixture(scope="module")
def russian() -> CaptionModel:
    return CaptionModel(CaptionModel.train(RUSSIAN, lang="ru"))


def generate(model: CaptionModel, *, query: str = "", place: str = "", seed: int = 0, is_safe=always_safe):
    (template, upper, lower), from_model = model.generate(
        query=query, place_name=place, rng=random.Random(seed), is_safe=is_safe
    )
    return template, upper, lower, from_model


def test_same_seed_gives_the_same_caption(english: CaptionModel) -> None:
    for seed in range(20):
        assert generate(english, query="coffee", seed=seed) == generate(english, query="coffee", seed=seed)


def test_different_seeds_give_different_captions(english: CaptionModel) -> None:
    captions = {generate(english, query="coffee", seed=seed)[1:3] for seed in range(20)}
    assert len(captions) >= 5


@pytest.mark.parametrize("query", ["coffee", "monday", "pizza", "cat", "", "kubernetes"])
def test_caption_is_never_a_copy_of_a_training_caption(english: CaptionModel, query: str) -> None:
    training = training_set(ENGLISH)
    for seed in range(40):
        _, upper, lower, from_model = generate(english, query=query, seed=seed)
        assert from_model
        assert words_of(upper, lower) not in training, (upper, lower)


@pytest.mark.parametrize("query", ["coffee", "Monday!", "the pizza", "grumpy cat"])
def test_caption_mentions_a_query_word_the_corpus_knows(english: CaptionModel, query: str) -> None:
    wanted = set(re.findall(r"\w+", query.upper())) - {"THE"}
    for seed in range(30):
        _, upper, lower, _ = generate(english, query=query, seed=seed)
        assert wanted & set(re.findall(r"\w+", f"{upper} {lower}")), (query, upper, lower)


@pytest.mark.parametrize("query", ["kubernetes", "quantum physics"])
def test_caption_mentions_a_query_the_corpus_does_not_know(english: CaptionModel, query: str) -> None:
    for seed in range(30):
        _, upper, lower, _ = generate(english, query=query, seed=seed)
        assert query.upper() in f"{upper} {lower}", (upper, lower)


def test_caption_mentions_the_place_when_there_is_no_query(english: CaptionModel) -> None:
    for seed in range(30):
        _, upper, lower, _ = generate(english, place="Lisbon", seed=seed)
        assert "LISBON" in f"{upper} {lower}"


def test_captions_are_upper_case_two_line_memes(english: CaptionModel) -> None:
    for seed in range(30):
        _, upper, lower, _ = generate(english, query="pizza", seed=seed)
        assert upper == upper.upper() and lower == lower.upper()
        assert upper or lower
        assert len(upper) <= 120 and len(lower) <= 120


def test_template_is_picked_for_the_query(english: CaptionModel) -> None:
    # "cat" names a template; "gym", "selfie" and "bicycle" appear only in Bad Luck Brian's captions.
    assert english.template_candidates("cat")[0] == "Grumpy Cat"
    picked = [generate(english, query="cat", seed=seed)[0] for seed in range(30)]
    assert picked.count("Grumpy Cat") > len(picked) / 3
    assert "Success Kid" not in picked  # no Success Kid caption mentions a cat
    for seed in range(20):
        assert generate(english, query="gym selfie bicycle", seed=seed)[0] == "Bad Luck Brian"


def test_template_candidates_without_a_query_are_the_most_used(english: CaptionModel) -> None:
    assert set(english.template_candidates("", limit=10)) == {t for t, _, _ in ENGLISH}
    assert english.template_candidates("", limit=1) == ["Grumpy Cat"]  # 9 captions, ties broken by name


def test_caption_that_fails_safety_is_replaced(english: CaptionModel) -> None:
    checked: list[str] = []

    def no_monday(text: str) -> bool:
        checked.append(text)
        return "MONDAY" not in text

    for seed in range(20):
        _, upper, lower, _ = generate(english, query="monday", seed=seed, is_safe=no_monday)
        assert "MONDAY" not in f"{upper} {lower}"
        assert upper or lower
    assert any("MONDAY" in text for text in checked)  # the filter did have something to reject


def test_fixed_frame_when_nothing_passes_safety(english: CaptionModel) -> None:
    _, upper, lower, from_model = generate(
        english, query="pizza", is_safe=lambda text: "PIZZA" in text and "EVERYWHERE" in text
    )
    assert not from_model
    assert (upper, lower) == ("PIZZA", "PIZZA EVERYWHERE")
    # Even a query that is itself unsafe gets a caption, without it.
    _, upper, lower, from_model = generate(
        english, query="pizza", is_safe=lambda text: "PIZZA" not in text and "EVERY" in text
    )
    assert "PIZZA" not in upper + lower and upper + lower


def test_generated_captions_pass_the_catalogue_safety_filter(english: CaptionModel) -> None:
    for seed in range(30):
        _, upper, lower, _ = generate(
            english, query="coffee", seed=seed, is_safe=lambda text: text_safety(text, language="en")[0]
        )
        assert text_safety(f"{upper} {lower}", language="en")[0]


def test_russian_model_writes_russian_about_the_query(russian: CaptionModel) -> None:
    training = training_set(RUSSIAN)
    for seed in range(20):
        _, upper, lower, _ = generate(russian, query="кофе", seed=seed)
        text = f"{upper} {lower}"
        assert "КОФЕ" in text
        assert re.search("[А-ЯЁ]", text)
        assert words_of(upper, lower) not in training


def test_russian_caption_mentions_the_place_with_a_russian_preposition(russian: CaptionModel) -> None:
    captions = [generate(russian, place="Москва", seed=seed) for seed in range(20)]
    assert all("МОСКВА" in f"{upper} {lower}" for _, upper, lower, _ in captions)
    assert any("В МОСКВА" in f"{upper} {lower}" for _, upper, lower, _ in captions)


def test_model_round_trips_through_its_file(english: CaptionModel, tmp_path: Path) -> None:
    path = tmp_path / "ai_model_en.json"
    CaptionModel.save(CaptionModel.train(ENGLISH, lang="en"), path)
    loaded = CaptionModel.load(path)
    assert loaded.lang == "en" and loaded.captions == len(ENGLISH)
    for seed in range(10):
        assert generate(loaded, query="pizza", seed=seed) == generate(english, query="pizza", seed=seed)


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ai_model_en.json"
    path.write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a caption model"):
        CaptionModel.load(path)


def test_empty_model_answers_with_a_classic_frame() -> None:
    template, upper, lower, from_model = generate(empty_model("en"), query="Pizza")
    assert not from_model
    assert "PIZZA" in f"{upper} {lower}" and template
    _, upper, lower, _ = generate(empty_model("ru"), query="")
    assert "МЕМЫ" in f"{upper} {lower}"


def test_odd_input_does_not_break_generation(english: CaptionModel) -> None:
    for query in ["", "   ", "!!!", "a" * 5000, "😀😀", "x\u0301\u0302", "\x00\x1f", "Ελλάδα", "日本"]:
        _, upper, lower, _ = generate(english, query=query, place="São Paulo")
        assert upper or lower


@pytest.mark.skipif(
    not (SHARED_DATA / "loc_memegenerator_subset.csv").exists(), reason="needs ../shared/data (LoC subset)"
)
def test_real_catalogue_model_is_new_relevant_and_safe() -> None:
    languages = {}
    with (SHARED_DATA / "loc_memegenerator_language.csv").open(encoding="utf-8") as handle:
        languages = {row["Meme ID"]: row["Language"] for row in csv.DictReader(handle)}
    with (SHARED_DATA / "loc_memegenerator_subset.csv").open(encoding="utf-8") as handle:
        captions = [
            (row["Base Meme Name"], row["Upper Text"], row["Lower Text"])
            for row in csv.DictReader(handle)
            if languages.get(row["Meme ID"]) == "en"
            and text_safety(f"{row['Upper Text']} {row['Lower Text']}", language="en")[0]
        ]
    model = CaptionModel(CaptionModel.train(captions, lang="en"))
    training = {words_of(u, lw) for _, u, lw in captions}
    for seed, query in enumerate(["cat", "beer", "monday", "homework", "winter", "pizza", "kubernetes"] * 15):
        _, upper, lower, _ = generate(
            model, query=query, place="Chicago", seed=seed, is_safe=lambda text: text_safety(text, language="en")[0]
        )
        text = f"{upper} {lower}"
        assert words_of(upper, lower) not in training
        assert query.upper() in text or "CHICAGO" in text
        assert text_safety(text, language="en")[0]
