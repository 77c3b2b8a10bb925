"""The rating engine: every category in en, es, ru (and pt, de, it), through disguises, and no
false positives on everyday words. The captions live base64-encoded in ``rating_cases.json``."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from memes.rating import BLOCKED, LEVELS, mask, rate_meme, rate_text, rated_languages, stricter, within
from memes.rating.codec import decoded, encode_text, transform
from memes.rating.engine import RULES_DIR

CASES = json.loads((Path(__file__).with_name("rating_cases.json")).read_text(encoding="utf-8"))


def _decode(text: str) -> str:
    return base64.b64decode(text).decode()


RATED = [
    pytest.param(_decode(t), lang, level, category, id=f"{lang}-{level}-{category}-{i}")
    for i, (t, lang, level, category) in enumerate(CASES["rated"])
]
SAFE = [pytest.param(_decode(t), lang, id=f"{lang}-g-{i}") for i, (t, lang) in enumerate(CASES["g"])]


@pytest.mark.parametrize(("text", "language", "level", "category"), RATED)
def test_rated_captions(text: str, language: str, level: str, category: str) -> None:
    rating = rate_text(text, language=language)
    assert (rating.level, rating.category) == (level, category), rating.reason


@pytest.mark.parametrize(("text", "language"), SAFE)
def test_everyday_words_are_g(text: str, language: str) -> None:
    rating = rate_text(text, language=language)
    assert rating.level == "g", rating.reason


def test_the_fixture_covers_every_category_in_english_spanish_and_russian() -> None:
    covered = {(lang, level, category) for _, lang, level, category in CASES["rated"]}
    for lang in ("en", "es", "ru"):
        for level, category in [
            ("blocked", "hate"),
            ("blocked", "self_harm"),
            ("blocked", "threat"),
            ("blocked", "sexual_minors"),
            ("blocked", "personal_data"),
            ("r", "profanity"),
            ("pg-13", "profanity"),
            ("pg", "mild"),
        ]:
            assert (lang, level, category) in covered, (lang, level, category)


def test_every_main_language_has_a_rules_file() -> None:
    assert set(rated_languages()) >= {"en", "es", "ru", "pt", "de", "it"}


def test_rules_files_hold_no_plain_words() -> None:
    """Words and patterns are stored base64-encoded: decoding each file changes every entry."""
    for path in RULES_DIR.glob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        if path.stem == "common":
            continue  # e-mail, phone, link patterns: nothing offensive in them
        assert document["encoding"] == "base64", path
        plain = decoded(document)
        assert transform(plain, encode_text, "base64") == document  # round trip


def test_english_rules_apply_to_every_language_but_the_colour_negro_is_spanish() -> None:
    english_slur = _decode(CASES["rated"][5][0])  # a plural slur, from the fixture
    assert rate_text(english_slur, language="es").level == BLOCKED
    assert rate_text("el perro negro y la gata negra", language="es").level == "g"
    assert rate_text("o carro negro", language="pt").level == "g"


def test_the_strictest_part_of_a_meme_wins() -> None:
    assert rate_meme("a nice day", "what the hell", language="en").level == "pg"
    assert rate_meme("a nice day", "call 555-123-4567", language="en").level == BLOCKED
    assert rate_meme("", language="en").level == "g"


def test_reasons_are_masked() -> None:
    rating = rate_text("damn it", language="en")
    assert rating.reason == "mild (en): d**n"
    assert mask("ab") == "a*"


def test_levels_compare_and_the_stricter_ceiling_wins() -> None:
    assert LEVELS == ("g", "pg", "pg-13", "r", "blocked")
    assert stricter("r", "pg") == "pg"
    assert stricter(None, "pg-13") == "pg-13"
    assert stricter(None, "") == "r"
    assert within("pg", "pg-13") and not within("r", "pg-13") and not within(BLOCKED, "r")


def test_one_caption_rated_in_two_languages_gets_each_languages_answer() -> None:
    """English's answer is computed once per text and shared by every language; a word the caption's
    language allows ("negro", a colour in Spanish) must still not be flagged there, in either order."""
    caption = "el perro negro"
    assert rate_text(caption, language="es").level == "g"
    assert rate_text(caption, language="en").level == BLOCKED
    assert rate_text(caption, language="es").level == "g"
    assert rate_text(caption, language="fr").level == BLOCKED  # no French rules: English's allow list only


def test_links_addresses_and_spam_phrases_are_blocked_whatever_their_punctuation() -> None:
    """The raw rules' pre-checks ("@", ".", "://") must not hide what their patterns catch."""
    assert rate_text("see http://localhost:8000/x now", language="en").category == "spam"
    assert rate_text("grab it at cheap-memes.shop today", language="en").category == "spam"
    assert rate_text("write me: someone@example.org", language="en").category == "personal_data"
    assert rate_text("CLICK-HERE for more", language="en").category == "spam"  # phrases match on the words
    assert rate_text("click here", language="ru").level == BLOCKED
    assert rate_text("I clicked here. Nothing.", language="en").level == "g"


def test_phrase_patterns_start_at_a_word() -> None:
    """A pattern is tried where a word starts, so a phrase is not found inside a longer word."""
    threat = _decode(next(t for t, lang, level, category in CASES["rated"] if lang == "en" and category == "threat"))
    assert rate_text(threat, language="en").category == "threat"
    assert rate_text("x" + threat, language="en").category != "threat"
