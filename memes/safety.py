# ruff: noqa: RUF001, RUF003  (Cyrillic word lists and comments are intended)
"""Is a caption (or a template name) fit to serve? Profanity word lists plus URL/spam detection.

Used for every catalogue row on import and by the AI generators on their own output, so it must be
fast: ~10 us per caption (measured), where glin-profanity's own matcher took 0.5-1.9 ms (55 s per
100k-row import). We therefore take its word lists (24 languages, maintained, MIT) and match them
ourselves on folded whole words:

* English is always checked (English swearing turns up in memes of every language), plus the
  caption's own language; with no language given, it is detected. Checking every language at once
  flags ordinary words ("con" is French profanity and everyday Spanish).
* The lists come from LDNOOBW, a *search suggestion* blocklist: it contains everyday words in some
  languages (pt "comer" = to eat, it "pesce" = fish, ru "какая разница" = "what's the difference")
  and identity words that are not insults. ``ALLOWED`` removes those, so they do not hide harmless
  memes.
* Russian swearing is built from a handful of roots with endless prefixes and endings, which a
  whole-word list cannot enumerate; ``_RUSSIAN_ROOTS`` catches a word that starts with one of them,
  optionally after a verbal prefix ("нахуй", "заебал"). The roots were chosen so that no common
  word starts with them (not "страхуй", not "себя").
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from dataclasses import dataclass, field

from glin_profanity.data.dictionary import dictionary as _glin_dictionary

from memes.language import detect_language
from memes.text import WORD_RE, fold

# ISO 639-1 code -> glin-profanity dictionary name.
LIST_NAMES = {
    "ar": "arabic",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "en": "english",
    "eo": "esperanto",
    "es": "spanish",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "hi": "hindi",
    "hu": "hungarian",
    "it": "italian",
    "ja": "japanese",
    "ko": "korean",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ru": "russian",
    "sv": "swedish",
    "th": "thai",
    "tr": "turkish",
    "zh": "chinese",
}
# Scripts written without spaces between words: their entries are matched as substrings.
_UNSPACED = {"ja", "th", "zh"}

# Everyday words and identity terms in the lists (see the module docstring), folded.
ALLOWED: dict[str, frozenset[str]] = {
    "en": frozenset(
        {
            "suck",
            "sucks",
            "butt",
            "bs",
            "lmfao",
            "omfg",
            "domination",
            "escort",
            "hardcore",
            "hard core",
            "jackass",
            "swinger",
            "twinkie",
            "kinky",
            "girl on",
            "big black",
            "tight white",
            "tongue in a",
            "jelly donut",
            "tainted love",
            "taste my",
            "tied up",
            "hot chick",
        }
    ),
    "es": frozenset(
        {
            "asesinato",
            "asno",
            "infierno",
            "maldito",
            "martillo",
            "idiota",
            "drogas",
            "orina",
            "trio",
            "heroina",
            "racista",
            "haciendo el amor",
            "pis",
        }
    ),
    "pt": frozenset(
        {
            "aborto",
            "amador",
            "aranha",
            "ariano",
            "burro",
            "cerveja",
            "comer",
            "camisinha",
            "mama",
            "saco",
            "torneira",
            "inferno",
            "heterosexual",
            "homosexual",
            "bissexual",
            "homem gay",
            "lesbica",
            "frango assado",
            "passar um cheque",
            "consolo",
            "pinto",
            "pau",
            "cocaina",
            "heroina",
            "gozar",
            "chupar",
            "bumbum",
            "xana",
        }
    ),
    "it": frozenset(
        {
            "pesce",
            "regina",
            "venire",
            "tirare",
            "duro",
            "battere",
            "guanto",
            "pistola",
            "lumaca",
            "cammello",
            "carita",
            "cadavere",
            "manico",
            "monta",
            "montare",
            "pompa",
            "quaglia",
            "uccello",
            "sbattere",
            "balle",
            "carciofo",
            "cappella",
            "spagnola",
            "grilletto",
            "pipa",
            "fava",
            "bagnarsi",
            "biga",
            "brinca",
            "casci",
            "cozza",
            "mannaggia",
            "patacca",
            "ruffiano",
            "femminuccia",
            "lecchino",
            "vangare",
            "topa",
            "mona",
            "nave scuola",
            "buona donna",
            "sbattersi",
            "rizzarsi",
            "bordello",
            "checca",
        }
    ),
    "ru": frozenset(
        {
            "бардак",
            "бугор",
            "голыи",
            "другои дразнится",
            "какая разница",
            "мент",
            "на фиг",
            "фига",
            "офигеть",
            "хрен",
            "хапать",
            "обнаженныи",
            "gol",
            "byk",
            "uboy",
            "хохол",
        }
    ),
    "de": frozenset({"bonze", "fratze", "mufti", "popel", "rosette", "kimme", "lummel", "nackt", "pinkeln"}),
    "fr": frozenset(),
}

# Additions to the lists, folded: hate-speech markers the lists lack (seen in LoC template names).
EXTRA: dict[str, frozenset[str]] = {
    "en": frozenset({"racist", "racism"}),
}

# English entries that are everyday words in another language ("negro" is the colour in es/pt/it).
ALLOWED_FROM_ENGLISH: dict[str, frozenset[str]] = {
    "es": frozenset({"negro"}),
    "pt": frozenset({"negro"}),
    "it": frozenset({"negro"}),
}

# Russian obscene roots (folded: й -> и, ё -> е) and the prefixes they take. A word is flagged when
# it is ``prefix + root + anything``. "с" alone is not a prefix here: "с" + "еб" would be "себя".
_RUSSIAN_ROOTS = ("хуи", "хуе", "хуя", "хую", "пизд", "бляд", "блят", "еб", "мудак", "мудил", "залуп")
_RUSSIAN_PREFIXES = (
    "",
    "на",
    "за",
    "по",
    "от",
    "отъ",
    "у",
    "вы",
    "до",
    "про",
    "раз",
    "разъ",
    "съ",
    "въ",
    "об",
    "объ",
    "о",
    "при",
    "пере",
    "под",
    "подъ",
    "ни",
    "не",
    "недо",
    "долбо",
)
_RUSSIAN_RE = re.compile(
    r"^(?:" + "|".join(sorted((p for p in _RUSSIAN_PREFIXES if p), key=len, reverse=True)) + r")?"
    r"(?:" + "|".join(_RUSSIAN_ROOTS) + r")"
)

# Spam: links, bare domains, e-mail addresses, and the classic calls to action.
_URL_RE = re.compile(
    r"(?:https?://|ftp://|www\.)\S+"
    r"|\b[\w-]{2,}\.(?:com|net|org|info|biz|ru|su|xyz|top|club|online|site|ly|io|co|me|tk|ml|ga|cf|gq|us|uk|de|es|"
    r"fr|it|br|pt|pl|ua|by|kz|tv|cc|ws|link|click|shop|store)\b(?:/\S*)?"
    r"|\b[\w.+-]+@[\w-]+\.[\w.-]+\b",
    re.IGNORECASE,
)
_SPAM_RE = re.compile(
    r"\b(?:click here|buy now|free followers|free likes|earn money|make money fast|work from home|"
    r"subscribe to my|follow me on|visit my (?:site|page|channel)|promo code|cheap viagra|casino bonus)\b",
    re.IGNORECASE,
)
# Symbols people write swear words with ("sh!t", "a$$"): such entries match whole chunks of text.
_CHUNK_STRIP = ".,;:?\"'()[]{}<>«»“”„…!-_/\\|~`^"


@dataclass
class _WordList:
    words: set[str] = field(default_factory=set)  # single folded words
    chunks: set[str] = field(default_factory=set)  # entries with symbols ("sh!t"), matched per whitespace chunk
    phrases: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # first word -> the rest
    substrings: list[str] = field(default_factory=list)  # unspaced scripts


_lists: dict[str, _WordList] = {}
_lists_lock = threading.Lock()


def _word_list(language: str) -> _WordList | None:
    name = LIST_NAMES.get(language)
    if name is None:
        return None
    if language not in _lists:
        with _lists_lock:
            if language not in _lists:
                _lists[language] = _build_list(language, _glin_dictionary.get_words(name))  # type: ignore[arg-type]
    return _lists[language]


def _build_list(language: str, entries: list[str]) -> _WordList:
    allowed = ALLOWED.get(language, frozenset())
    word_list = _WordList()
    for entry in [*entries, *EXTRA.get(language, ())]:
        folded = " ".join(fold(entry).split())
        if not folded or folded in allowed:
            continue
        if language in _UNSPACED:
            word_list.substrings.append(folded)
            continue
        tokens = WORD_RE.findall(folded)
        if " " in folded and tokens:
            word_list.phrases.setdefault(tokens[0], []).append(tuple(tokens[1:]))
        elif len(tokens) == 1 and tokens[0] == folded:
            word_list.words.add(folded)
        else:
            word_list.chunks.add(folded.strip(_CHUNK_STRIP) or folded)
    return word_list


def _profanity(folded: str, tokens: list[str], language: str) -> str | None:
    """The first listed word or phrase of ``language`` found in the text, or None."""
    word_list = _word_list(language)
    if word_list is None:
        return None
    for substring in word_list.substrings:
        if substring in folded:
            return substring
    for index, token in enumerate(tokens):
        if token in word_list.words:
            return token
        for rest in word_list.phrases.get(token, ()):
            if tuple(tokens[index + 1 : index + 1 + len(rest)]) == rest:
                return " ".join((token, *rest))
    if word_list.chunks:
        for chunk in folded.split():
            chunk = chunk.strip(_CHUNK_STRIP)
            if chunk in word_list.chunks:
                return chunk
    for chunk in folded.split():
        chunk = chunk.strip(_CHUNK_STRIP)
        if any(mask in chunk for mask in _MASKS) and _masked_listed_word(chunk, word_list.words):
            return chunk
    if language == "ru":
        for token in tokens:
            if _RUSSIAN_RE.match(token) and not token.isascii():
                return token
    return None


_MASKS = "*#@$%"
_DROP_MASKS = str.maketrans("", "", _MASKS)


def _masked_listed_word(chunk: str, words: Collection[str]) -> bool:
    """A listed word written with mask characters: inserted ("fu*ck") or standing for letters ("f**k").

    Only masked chunks get here (rare), so comparing against the whole list is cheap.
    """
    if chunk.translate(_DROP_MASKS) in words:
        return True
    if not any(c.isalpha() for c in chunk):
        return False
    pattern = re.compile("".join("." if c in _MASKS else re.escape(c) for c in chunk) + r"\Z")
    return any(len(word) == len(chunk) and pattern.match(word) for word in words)


def text_safety(text: str, *, language: str | None = None) -> tuple[bool, str]:
    """``(is_safe, reason)`` for a caption or template name; ``reason`` is "" when safe.

    ``language`` (ISO 639-1) picks the word list besides English; when None it is detected.
    """
    if not text or not text.strip():
        return True, ""
    match = _URL_RE.search(text)
    if match:
        return False, f"link: {match.group(0)[:80]}"
    match = _SPAM_RE.search(text)
    if match:
        return False, f"spam: {match.group(0)[:80]}"
    folded = fold(text)
    tokens = WORD_RE.findall(folded)
    if language is None:
        language = detect_language(text)
    for code in dict.fromkeys(("en", language or "en")):
        found = _profanity(folded, tokens, code)
        if found and code == "en" and found in ALLOWED_FROM_ENGLISH.get(language, ()):
            found = None
        if found:
            return False, f"profanity ({code}): {found}"[:120]
    return True, ""
