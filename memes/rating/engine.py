# ruff: noqa: RUF001  (Cyrillic look-alike letters are intended)
"""Rate a caption: the strictest rule of English and of the caption's language that it matches.

The rules are data (``rules/<lang>.json``, see :mod:`memes.rating.rules`); this module only knows
how to see through the ways people disguise a word. A caption is looked at in a few forms, each
built only when it differs from the plain one (most captions have just the plain form):

* **plain**: folded (lower case, no accents: "Ёж" -> "еж") and split into words;
* **leet**: chunks with letters *and* digits or symbols read as letters ("h3ll0" -> "hello",
  "@" -> "a", "$" -> "s"); a Cyrillic word typed with Latin look-alike letters read as Cyrillic;
* **joined**: three or more one-letter words in a row read as one word ("w o r d", "w.o.r.d",
  "w*o*r*d");
* **squeezed**: a letter repeated three or more times read once and twice ("wooooord"), and, for
  such words only, every doubled letter once (the word's "skeleton").

A word matches a rule's ``words`` as itself or followed by one of the language's suffixes
(plurals, diminutives, verb endings), a rule's ``prefixes`` when it starts with one (optionally
after one of the language's verbal prefixes: Russian builds its swearing that way), a rule's
``infixes`` anywhere inside it. ``patterns`` are regular expressions over the caption's words
joined by single spaces (threats, incitement: phrases, not words), each tried where a word starts.
``all_of`` needs one pattern of each group (a word about minors *and* a sexual word). Masked words
("w*rd", "w**d") match a listed form of the same length with the masks as wildcards. ``allow``
lists words that are never flagged in captions of that language ("negro" is a colour in Spanish):
the Scunthorpe problem is solved by matching whole words plus suffixes rather than substrings, and
by ``allow`` for the few words that still collide.

Language-independent rules (``rules/common.json``: e-mail addresses, phone numbers, links) run on
the raw text, each only when the text holds what its pattern cannot match without (``requires``:
an "@", a "."; ``min_digits``); its ``patterns`` without ``raw`` (spam phrases) run on the words,
like a language's.

Where the time goes, and why it is laid out this way (docs/benchmarks.md has the figures):

* a caption is folded and split once (:func:`_views`), whichever languages rate it;
* every word's answer (listed word, word + suffix, prefix, infix) is computed once per language and
  remembered: words repeat across captions, so most captions cost a few dictionary look-ups;
* every phrase pattern of a language is in one compiled alternation that starts with a space (the
  words are joined as " w1 w2 ..."), so the regex engine jumps from word start to word start
  instead of trying every branch at every character; most captions stop there. Only when it
  matches are the levels tried (one alternation each, strictest first), then the matching level's
  rules one by one, to say which category it was;
* English's answer is computed once per text, whatever languages the text is rated in, and asked
  again only when a word that the caption's language allows may be what it rests on.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from memes.language import detect_language
from memes.rating.codec import decoded
from memes.rating.levels import BLOCKED, LEVELS, RANK
from memes.text import WORD_RE, fold

RULES_DIR = Path(__file__).with_name("rules")
COMMON = "common"

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "i", "€": "e"}
)
_LEET_CHARS = frozenset("013457@$!|€")
_MASKS = frozenset("*#%")
_EDGE_PUNCT = ".,;:?\"'()[]{}<>«»“”„…-_/\\~`^!"
# A chunk (between spaces) with a leet character or a mask that stays once the chunk's edges are
# stripped ("sh!t", not "wow!"): only then can the leet and masked forms differ from the plain one.
_SPECIAL_CHUNK_RE = re.compile(r"\S*(?:[013457@$|€*#%]|![^\s]*?[^\s" + re.escape(_EDGE_PUNCT) + r"])\S*")
_LETTER_RE = re.compile(r"[^\W\d_]")
_SPECIAL_RE = re.compile("[013457@$!|€*#%]")  # the cheap test before _SPECIAL_CHUNK_RE
# Latin letters that look like Cyrillic ones, for Cyrillic words typed with a few Latin letters.
_TO_CYRILLIC = str.maketrans("aeopcxykmthbun", "аеорсхукмтнвип")
_CYRILLIC_RE = re.compile(r"[а-яё]")
_LATIN_RE = re.compile(r"[a-z]")
_RUN3_RE = re.compile(r"(\w)\1{2,}")
_RUN2_RE = re.compile(r"(\w)\1+")
_DIGIT_RE = re.compile(r"\d")
_SINGLES_RE = re.compile(r"(?<!\w)\w\W+\w\W+\w(?!\w)")  # three one-letter words in a row
# One scan for the common case, none of: a leet character or mask, three one-letter words in a row
# (on the folded text as on its words: only word/non-word runs count), a letter three times in a row.
_LOOK_CLOSER_RE = re.compile(f"{_SPECIAL_RE.pattern}|{_SINGLES_RE.pattern}|{_RUN3_RE.pattern}")


@dataclass(frozen=True, slots=True)
class Rating:
    """A caption's rating, the category of the rule that set it, and a masked reason for moderators."""

    level: str
    category: str = ""
    reason: str = ""

    @property
    def rank(self) -> int:
        return RANK[self.level]


G_RATING = Rating("g")
Hit = tuple[int, str, str]  # rank, category, what matched


def mask(term: str) -> str:
    """ "damn" -> "d**n": enough for a moderator to recognise, not the word spelled out."""
    term = term.strip()
    if len(term) <= 2:
        return term[:1] + "*" * (len(term) - 1)
    return "".join(c if i == 0 or i == len(term) - 1 or c == " " else "*" for i, c in enumerate(term))


def _better(current: Hit | None, rank: int, category: str, term: str) -> Hit:
    return (rank, category, term) if current is None or rank > current[0] else current


def _phrase(pattern: str) -> str:
    """A pattern tried only where a word starts: after the space that precedes every word."""
    return f" (?:{pattern})"


@dataclass
class LevelPatterns:
    """One level's phrase patterns: ``gate`` (all of them in one regex) says whether any matches;
    ``rules`` (one alternation per rule, in file order) which one did."""

    rank: int
    gate: re.Pattern[str]
    rules: list[tuple[re.Pattern[str], str]]


@dataclass
class RawPattern:
    """A pattern over the raw text (e-mail addresses, phone numbers, links), with its pre-checks."""

    regex: re.Pattern[str]
    rank: int
    category: str
    min_digits: int = 0
    requires: re.Pattern[str] | None = None  # the text holds one of these strings, or the pattern cannot match


@dataclass
class LanguageRules:
    """One language's rules, compiled for matching."""

    language: str
    suffixes: frozenset[str] = frozenset()
    suffix_lengths: tuple[int, ...] = ()
    verbal_prefixes: tuple[str, ...] = ()
    allow: frozenset[str] = frozenset()
    words: dict[str, tuple[int, str]] = field(default_factory=dict)
    skeletons: dict[str, tuple[int, str]] = field(default_factory=dict)
    prefixes: dict[str, tuple[int, str]] = field(default_factory=dict)
    prefix_re: re.Pattern[str] | None = None
    infixes: dict[str, tuple[int, str]] = field(default_factory=dict)
    infix_re: re.Pattern[str] | None = None
    levels: list[LevelPatterns] = field(default_factory=list)  # strictest first
    all_of: list[tuple[list[re.Pattern[str]], int, str]] = field(default_factory=list)
    all_of_gate: re.Pattern[str] | None = None  # every rule's first group: none matches, no rule can
    phrase_gate: re.Pattern[str] | None = None  # every level's patterns and all_of's first groups at once
    raw_patterns: list[RawPattern] = field(default_factory=list)
    forms_by_length: dict[int, list[tuple[str, int, str]]] = field(default_factory=dict)
    token_cache: dict[str, Hit | None] = field(default_factory=dict)

    def token_hit(self, token: str, allow: frozenset[str]) -> Hit | None:
        """The strictest word rule (a listed word, alone or with a suffix; a prefix; an infix)
        matching one word, or None."""
        if token in allow:
            return None
        # Words repeat across captions (Zipf): remember each word's answer, within a bound.
        cache = self.token_cache
        if token in cache:
            return cache[token]
        if len(cache) > 100_000:
            cache.clear()
        hit = cache[token] = self._token_hit(token)
        return hit

    def _token_hit(self, token: str) -> Hit | None:
        best: Hit | None = None
        if len(token) >= 2:
            words = self.words
            hit = words.get(token)
            if hit is not None:
                best = _better(best, hit[0], hit[1], token)
            for length in self.suffix_lengths:
                if len(token) > length + 1 and token[-length:] in self.suffixes:
                    hit = words.get(token[:-length])
                    if hit is not None:
                        best = _better(best, hit[0], hit[1], token)
        if self.prefix_re is not None:
            match = self.prefix_re.match(token)
            if match is not None:
                groups = match.groupdict()
                rank, category = self.prefixes[groups.get("part") or groups["plain"]]
                best = _better(best, rank, category, token)
        if self.infix_re is not None:
            for match in self.infix_re.finditer(token):
                rank, category = self.infixes[match.group(0)]
                best = _better(best, rank, category, token)
        return best

    def masked_hit(self, chunk: str) -> Hit | None:
        """A listed form written with masks standing for letters ("f**k") or inserted ("fu*ck")."""
        best: Hit | None = None
        stripped = "".join(c for c in chunk if c not in _MASKS)
        hit = self.words.get(stripped)
        if hit is not None:
            best = _better(best, hit[0], hit[1], chunk)
        if sum(c.isalpha() for c in chunk) < 1:
            return best
        pattern = re.compile("".join("." if c in _MASKS else re.escape(c) for c in chunk))
        for form, rank, category in self.forms_by_length.get(len(chunk), ()):
            if pattern.fullmatch(form):
                best = _better(best, rank, category, chunk)
        return best


def _compile(document: dict[str, Any], language: str) -> LanguageRules:
    document = decoded(document)
    rules = LanguageRules(
        language=language,
        suffixes=frozenset(fold(s) for s in document.get("suffixes", [])),
        verbal_prefixes=tuple(sorted((fold(p) for p in document.get("verbal_prefixes", [])), key=len, reverse=True)),
        allow=frozenset(fold(word) for word in document.get("allow", [])),
    )
    verbal_prefixes: set[str] = set()  # the prefixes that may follow one of the language's verbal prefixes
    by_level: dict[int, list[tuple[list[str], str]]] = {}
    first_groups: list[str] = []
    for rule in document.get("rules", []):
        level, category = rule["level"], rule["category"]
        if level not in LEVELS:
            raise ValueError(f"rules {language}: unknown level {level!r} in category {category!r}")
        rank = RANK[level]

        def keep(table: dict[str, Any], key: str, value: Any) -> None:
            if key not in table or table[key][0] < value[0]:
                table[key] = value

        for word in rule.get("words", []):
            word = fold(word)
            keep(rules.words, word, (rank, category))
            keep(rules.skeletons, _RUN2_RE.sub(r"\1", word), (rank, category))
        for prefix in rule.get("prefixes", []):
            keep(rules.prefixes, _word_part(fold(prefix), language), (rank, category))
            if rule.get("after_verbal_prefixes"):
                verbal_prefixes.add(fold(prefix))
        for infix in rule.get("infixes", []):
            keep(rules.infixes, _word_part(fold(infix), language), (rank, category))
        patterns = rule.get("patterns", [])
        if patterns and rule.get("raw"):
            needed = rule.get("requires", ())
            requires = re.compile("|".join(re.escape(s) for s in needed), re.IGNORECASE) if needed else None
            for pattern in patterns:  # one by one: each finds its own candidates for min_digits
                compiled = re.compile(pattern, re.IGNORECASE)
                rules.raw_patterns.append(
                    RawPattern(compiled, rank, category, int(rule.get("min_digits", 0)), requires)
                )
        elif patterns:
            by_level.setdefault(rank, []).append(([fold(p) for p in patterns], category))
        if "all_of" in rule:
            groups = [re.compile(_phrase("|".join(f"(?:{fold(p)})" for p in group))) for group in rule["all_of"]]
            rules.all_of.append((groups, rank, category))
            first_groups.extend(fold(p) for p in rule["all_of"][0])
    rules.suffix_lengths = tuple(sorted({len(suffix) for suffix in rules.suffixes}))
    if first_groups:
        rules.all_of_gate = re.compile(_phrase("|".join(f"(?:{p})" for p in first_groups)))
    every = [p for rank in by_level for patterns, _ in by_level[rank] for p in patterns] + first_groups
    if every:
        rules.phrase_gate = re.compile(_phrase("|".join(f"(?:{p})" for p in every)))
    for rank in sorted(by_level, reverse=True):  # strictest first: a milder level is not tried after a hit
        entries = by_level[rank]
        gate = re.compile(_phrase("|".join(f"(?:{p})" for patterns, _ in entries for p in patterns)))
        per_rule = [(re.compile(_phrase("|".join(f"(?:{p})" for p in patterns))), c) for patterns, c in entries]
        rules.levels.append(LevelPatterns(rank, gate, per_rule))
    if rules.prefixes:
        # One regex for every prefix, matched at the start of a word:
        # "(?:verbal)?(?P<part>after verbal)|(?P<plain>others)".
        plain = _alternation(set(rules.prefixes) - verbal_prefixes)
        after = _alternation(verbal_prefixes)
        verbs = _alternation(set(rules.verbal_prefixes))
        branches = []
        if after:
            branches.append((f"(?:{verbs})?" if verbs else "") + f"(?P<part>{after})")
        if plain:
            branches.append(f"(?P<plain>{plain})")
        rules.prefix_re = re.compile("|".join(branches))
    if rules.infixes:
        rules.infix_re = re.compile(_alternation(set(rules.infixes)))
    for word, (rank, category) in rules.words.items():
        for suffix in ("", *rules.suffixes):
            form = word + suffix
            rules.forms_by_length.setdefault(len(form), []).append((form, rank, category))
    return rules


def _word_part(part: str, language: str) -> str:
    """Prefixes and infixes are matched inside one word, so they are letters (or digits) only."""
    if not WORD_RE.fullmatch(part):
        raise ValueError(f"rules {language}: a prefix or infix must be one word, without spaces or punctuation")
    return part


def _alternation(items: set[str]) -> str:
    return "|".join(re.escape(item) for item in sorted(items, key=len, reverse=True))


_rules: dict[str, LanguageRules | None] = {}
_rules_lock = threading.Lock()


def rules_for(language: str) -> LanguageRules | None:
    """The compiled rules of ``language`` (ISO 639-1, or "common"); None when it has no rules file."""
    if language not in _rules:
        with _rules_lock:
            if language not in _rules:
                path = RULES_DIR / f"{language}.json"
                if not re.fullmatch(r"[a-z]{2}|common", language) or not path.exists():
                    _rules[language] = None
                else:
                    _rules[language] = _compile(json.loads(path.read_text(encoding="utf-8")), language)
    return _rules[language]


def rules_reload() -> None:
    """Forget the compiled rules (tests and ``rate_memes`` after editing a rules file)."""
    with _rules_lock:
        _rules.clear()
    _allow.cache_clear()
    text_caches_clear()


def text_caches_clear() -> None:
    """Forget every per-text answer (after a rules change; benchmarks of the uncached cost). The
    per-word answers stay: they are a property of the rules, and warm after a few captions."""
    _views.cache_clear()
    _shared_hits.cache_clear()
    _rate.cache_clear()


def rated_languages() -> list[str]:
    return sorted(path.stem for path in RULES_DIR.glob("*.json") if path.stem != COMMON)


# --- the forms of a caption ------------------------------------------------------------------------


class _Views(NamedTuple):
    texts: tuple[str, ...]  # word forms as " w1 w2 ...", for patterns (each word after a space): plain first
    tokens: tuple[str, ...]  # every word form, once, in order, for the word rules
    squeezed: frozenset[str]  # skeletons of words that had a letter three times or more
    masked: tuple[str, ...]  # chunks with mask characters between letters


def _joined(tokens: list[str]) -> list[str]:
    """Runs of three or more one-letter words joined into one word."""
    out: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if token:
            out.append(token)
    return out


@lru_cache(maxsize=8192)
def _views(text: str) -> _Views:
    folded = fold(text)
    plain = WORD_RE.findall(folded)
    plain_text = " ".join(plain)
    mixed_scripts = not folded.isascii() and bool(_CYRILLIC_RE.search(folded)) and bool(_LATIN_RE.search(folded))
    if not mixed_scripts and _LOOK_CLOSER_RE.search(folded) is None:
        # The common case: no leet, masks, mixed scripts, split letters or repeats: one form.
        return _Views((" " + plain_text,), tuple(dict.fromkeys(plain)), frozenset(), ())
    special = mixed_scripts or (
        _SPECIAL_RE.search(folded) is not None
        and any(_LETTER_RE.search(chunk) for chunk in _SPECIAL_CHUNK_RE.findall(folded))
    )
    texts = [plain_text]
    masked: list[str] = []
    leet_needed = False
    leet_chunks = []
    for chunk in folded.split() if special else ():
        core = chunk.strip(_EDGE_PUNCT)
        if not core:
            continue
        has_alpha = any(c.isalpha() for c in core)
        if has_alpha and any(c in _MASKS for c in core[1:]) and not all(c in _MASKS for c in core):
            masked.append(core)
        if has_alpha and any(c in _LEET_CHARS for c in core):
            core = core.translate(_LEET)
            leet_needed = True
        if mixed_scripts and _CYRILLIC_RE.search(core) and _LATIN_RE.search(core):
            core = core.translate(_TO_CYRILLIC)
            leet_needed = True
        leet_chunks.append(core)
    forms = [plain]
    if leet_needed:
        leet = WORD_RE.findall(" ".join(leet_chunks))
        forms.append(leet)
    for form in list(forms):
        if not _SINGLES_RE.search(" ".join(form)):
            continue  # no run of one-letter words to join
        joined = _joined(form)
        if len(joined) != len(form):
            forms.append(joined)
    squeezed: set[str] = set()
    for form in list(forms) if _RUN3_RE.search(folded) else ():
        if any(_RUN3_RE.search(token) for token in form):
            once = [_RUN3_RE.sub(r"\1", token) for token in form]
            twice = [_RUN3_RE.sub(r"\1\1", token) for token in form]
            forms.extend((once, twice))
            squeezed.update(_RUN2_RE.sub(r"\1", token) for token in form if _RUN3_RE.search(token))
    tokens = dict.fromkeys(plain)
    for form in forms[1:]:
        tokens.update(dict.fromkeys(form))
        joined_text = " ".join(form)
        if joined_text not in texts:
            texts.append(joined_text)
    return _Views(tuple(" " + t for t in texts), tuple(tokens), frozenset(squeezed), tuple(masked))


# --- rating ------------------------------------------------------------------------------------------


def _language_hit(rules: LanguageRules, views: _Views, allow: frozenset[str], floor: int = -1) -> Hit | None:
    """The strictest hit of ``rules`` on a caption, if stricter than ``floor`` (ties: the first found)."""
    best: Hit | None = None
    token_hit = rules.token_hit
    for token in views.tokens:
        hit = token_hit(token, allow)
        if hit is not None and hit[0] > floor:
            best = _better(best, *hit)
    for token in views.squeezed:
        skeleton = rules.skeletons.get(token)
        if skeleton is not None and token not in allow and skeleton[0] > floor:
            best = _better(best, skeleton[0], skeleton[1], token)
    for chunk in views.masked:
        hit = rules.masked_hit(chunk)
        if hit is not None and hit[0] > floor:
            best = _better(best, *hit)
    for text in views.texts:
        best = _pattern_hit(rules, text, best, floor)
    return best


def _pattern_hit(rules: LanguageRules, text: str, best: Hit | None, floor: int) -> Hit | None:
    """``best`` or a stricter hit of the phrase patterns and ``all_of`` groups on one form."""
    if rules.phrase_gate is None or rules.phrase_gate.search(text) is None:
        return best  # the common case: one scan for every phrase rule of the language
    for level in rules.levels:
        if level.rank <= floor or (best is not None and best[0] >= level.rank):
            break  # levels are strictest first: the rest cannot do better
        if level.gate.search(text) is None:
            continue  # the common case: one scan says that no pattern of the level matches
        for pattern, category in level.rules:
            match = pattern.search(text)
            if match:
                best = _better(best, level.rank, category, match.group(0))
                break
        break  # this level matched: a milder one cannot do better
    if rules.all_of_gate is None or rules.all_of_gate.search(text) is None:
        return best
    for groups, rank, category in rules.all_of:
        if rank > floor and (best is None or best[0] < rank) and all(group.search(text) for group in groups):
            best = _better(best, rank, category, category)
    return best


def _raw_hit(rules: LanguageRules, text: str) -> Hit | None:
    best: Hit | None = None
    digits = -1
    for raw in rules.raw_patterns:
        if raw.requires is not None and raw.requires.search(text) is None:
            continue  # e.g. no "@", no e-mail address: one fast scan instead of the pattern's
        if raw.min_digits:
            if digits < 0:
                digits = len(_DIGIT_RE.findall(text)) if _DIGIT_RE.search(text) else 0
            if digits < raw.min_digits:
                continue  # cheaper than the phone number regex, which tries every position
        for match in raw.regex.finditer(text):
            found = [c for c in match.group(0) if c.isdigit()]
            if raw.min_digits and not (raw.min_digits <= len(found) <= 15 and len(set(found)) >= 4):
                continue  # too short or long for a phone number, or "444444 4444"
            best = _better(best, raw.rank, raw.category, match.group(0))
            break
    return best


def rate_text(text: str, *, language: str | None = None) -> Rating:
    """The rating of one caption or template name.

    English rules always apply (English swearing turns up in memes of every language), plus the
    rules of ``language`` (ISO 639-1; detected when None). Words in the ``allow`` list of English or
    of the caption's language are never flagged.
    """
    if not text or not text.strip():
        return G_RATING
    if language is None:
        language = detect_language(text)
    return _rate(text, language)


@lru_cache(maxsize=4096)
def _rate(text: str, language: str) -> Rating:
    """rate_text once the language is known; cached, because template names (every meme is rated with
    its template's name, AI memes too) and re-posted captions repeat."""
    common_hit, english_hit = _shared_hits(text)
    if common_hit is not None and common_hit[0] == _BLOCKED_RANK:
        return _rating(common_hit, COMMON)
    best, which = common_hit, COMMON
    own = rules_for(language) if language and language != "en" else None
    if own is not None:
        views = _views(text)
        allow = _allow(language)
        # The caption's own language first; English only for something stricter (a tie stays its).
        hit = _language_hit(own, views, allow, best[0] if best is not None else -1)
        if hit is not None and (best is None or hit[0] > best[0]):
            best, which = hit, own.language
        stricter = english_hit is not None and (best is None or english_hit[0] > best[0])
        if stricter and not (own.allow.isdisjoint(views.tokens) and own.allow.isdisjoint(views.squeezed)):
            # A word this language allows is in the caption ("negro" is a colour in Spanish), and
            # English's answer may rest on it: ask English again, with this language's allow list.
            english = rules_for("en")
            english_hit = _language_hit(english, views, allow) if english is not None else None
    if english_hit is not None and (best is None or english_hit[0] > best[0]):
        best, which = english_hit, "en"
    return G_RATING if best is None else _rating(best, which)


_BLOCKED_RANK = RANK[BLOCKED]


@lru_cache(maxsize=8192)
def _shared_hits(text: str) -> tuple[Hit | None, Hit | None]:
    """What does not depend on the caption's language, computed once per text: the common rules'
    hit and English's (with English's ``allow``), however many languages the text is rated in."""
    common = rules_for(COMMON)
    best: Hit | None = None
    if common is not None:
        best = _raw_hit(common, text)
        if best is not None and best[0] == _BLOCKED_RANK:
            return best, None
    views = _views(text)
    if common is not None and common.levels:
        for form in views.texts:
            best = _pattern_hit(common, form, best, -1)
        if best is not None and best[0] == _BLOCKED_RANK:
            return best, None
    english = rules_for("en")
    return best, _language_hit(english, views, english.allow) if english is not None else None


@lru_cache(maxsize=64)
def _allow(language: str) -> frozenset[str]:
    """The words never flagged in a caption of ``language``: English's ``allow`` and its own."""
    english, own = rules_for("en"), rules_for(language)
    return (english.allow if english else frozenset()) | (own.allow if own else frozenset())


def _rating(hit: Hit, source: str) -> Rating:
    rank, category, term = hit
    return Rating(LEVELS[rank], category, f"{category} ({source}): {mask(term)}"[:120])


def rate_meme(*texts: str, language: str | None = None) -> Rating:
    """The strictest rating of a meme's parts (caption, template name, alternate text)."""
    best = G_RATING
    for text in texts:
        rating = rate_text(text, language=language)
        if rating.rank > best.rank:
            best = rating
            if best.level == BLOCKED:
                break
    return best
