# ruff: noqa: RUF001, RUF003  (Cyrillic test captions are intended)
"""Language detection and the safety filter (word lists + links/spam)."""

from __future__ import annotations

import pytest

from memes.language import detect_language, normalize_language_code
from memes.safety import text_safety


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("one does not simply walk into the office on a monday", "en"),
        ("cuando por fin terminas la tarea y era para la semana pasada", "es"),
        ("когда наконец починил баг а это была опечатка", "ru"),
        ("wenn der Drucker wieder streikt und niemand weiss warum", "de"),
        ("quando finalmente consegues acabar o trabalho de casa", "pt"),
    ],
)
def test_detects_the_language_of_a_caption(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["", "!!!", "10/10", "🙂🙂", "ok"])
def test_too_little_text_has_no_language(text):
    assert detect_language(text) == ""


@pytest.mark.parametrize(
    ("code", "expected"), [("en", "en"), ("EN", "en"), ("zh-cn", "zh"), ("Could Not Detect", ""), ("", "")]
)
def test_language_file_codes_are_normalised_to_iso_639_1(code, expected):
    assert normalize_language_code(code) == expected


@pytest.mark.parametrize(
    "text",
    [
        "i had fun once it was awful",
        "one does not simply deploy on a friday",
        "assassin's creed is a classic",  # "ass" inside a word
        "I am so paranoid about the stove",
    ],
)
def test_ordinary_english_captions_are_safe(text):
    assert text_safety(text, language="en") == (True, "")


@pytest.mark.parametrize(
    ("text", "language", "fragment"),
    [
        ("this is bullshit", "en", "bullshit"),
        ("oh SHIT here we go again", "en", "shit"),
        ("what a piece of shit", "en", "shit"),
        ("total sh!t show", "en", "sh!t"),
        ("que mierda de lunes", "es", "mierda"),
        ("hijo de puta", "es", "puta"),
        ("so eine Scheiße", "de", "scheisse"),
        ("какое говно", "ru", "говно"),
        ("иди нахуй", "ru", "нахуи"),
        ("заебал этот понедельник", "ru", "заебал"),
        ("vai tomar no cu", "pt", "cu"),
    ],
)
def test_profanity_is_flagged_with_the_word_and_language(text, language, fragment):
    is_safe, reason = text_safety(text, language=language)
    assert not is_safe
    assert reason.startswith("profanity (") and fragment in reason


@pytest.mark.parametrize("text", ["FU*CK THAT GUY", "what the f**k", "s**t happens", "b#tch please"])
def test_masked_profanity_is_flagged(text):
    is_safe, reason = text_safety(text, language="en")
    assert not is_safe and reason.startswith("profanity (en)")


@pytest.mark.parametrize("text", ["I scored 100% today", "5 * 3 = 15", "Paris is #1", "email me @ home", "***"])
def test_symbols_that_mask_nothing_are_safe(text):
    assert text_safety(text, language="en") == (True, "")


def test_english_profanity_is_caught_in_captions_of_any_language():
    assert text_safety("no paso nada BITCHES!", language="es")[0] is False


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("metan un gol con el pie", "es"),  # "con" is French profanity, an everyday Spanish word
        ("El negro ya no toma", "es"),  # the colour/nickname, not the English slur
        ("страхуй свою машину", "ru"),  # "insure": contains a swear root but is not one
        ("купи себе что-нибудь", "ru"),  # "себе": "с" + "еб" is no prefix
        ("vamos comer uma pizza", "pt"),  # "comer" is on the search-suggestion list, means "to eat"
        ("il pesce è fresco", "it"),
    ],
)
def test_everyday_words_of_other_languages_are_not_flagged(text, language):
    assert text_safety(text, language=language) == (True, "")


@pytest.mark.parametrize(
    "text",
    [
        "visit http://gascash.co now",
        "best memes at www.example.org",
        "Типичный Лингвист vk.com/tp_linguist",
        "RomneyMakes.com",
        "write to memes@example.com",
    ],
)
def test_links_and_domains_are_spam(text):
    is_safe, reason = text_safety(text, language="en")
    assert not is_safe and reason.startswith("link:")


def test_calls_to_action_are_spam():
    assert text_safety("free followers click here", language="en") == (False, "spam: free followers")


def test_without_a_language_the_caption_language_is_detected():
    assert text_safety("que mierda de lunes otra vez")[0] is False
    assert text_safety("metan un gol con el pie por favor")[0] is True
