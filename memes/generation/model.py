"""The local caption model: word-level Markov chains over catalogue captions, steered by the query.

Pure Python, no Django: it is trained from plain ``(template, upper, lower)`` tuples, saved as JSON and
asked for captions with an explicit ``random.Random`` so that a seed gives the same caption every time.

markovify builds and serialises the chains; the sampling is ours, because markovify draws from the
global ``random`` module (not reproducible per request, not thread-safe to seed) and cannot aim a
sentence at a word. What the model does on top of the chains:

* **Two lines.** Upper and lower lines have their own chains (setups and punchlines differ), per language.
* **Templates.** A template with enough captions gets its own chains; its lines are walked with a
  *backoff*: the template's next-word distribution when it knows the state, the language's otherwise.
  The template itself is picked for the query (its captions' words and its name, weighted by rarity).
* **Conditioning.** A query word the corpus knows is put *inside* a line: the walk starts at a state that
  contains the word and grows both ways, forwards with the forward chain and backwards with a chain
  trained on reversed lines. An unknown query replaces the noun phrase after a determiner of a generated
  line ("have a bad time" -> "have a <query>"), else it becomes the setup line ("<query> / <reaction>").
  The client's city is added as a locative ("... in Paris").
* **New, not copied.** A caption whose words equal a training caption is rejected; the first half of the
  tries also reject captions whose two lines are both verbatim training lines.
* **Safe.** Every candidate goes through the caller's safety predicate; after ``max_tries`` failures a
  fixed, well-known meme frame is filled in instead, and if even that is unsafe, a frame without the query.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import os
import random
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import markovify
from markovify.chain import BEGIN, END

FORMAT = "maas-caption-model/1"
STATE_SIZE = 2
MIN_TEMPLATE_CAPTIONS = 8  # below this a template's own chain would only replay its few captions
TEMPLATE_WEIGHT = 0.85  # share of steps taken from the template's chain when it knows the state
MAX_LINE_WORDS = 14
MAX_LINE_CHARS = 120
TEMPLATE_WORDS_KEPT = 300  # per template, for picking templates; keeps the file small
POPULAR_TEMPLATES = 25

_STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "a an the and or but if of to in on at for with from by as is are was were be been am i im i'm "
        "you he she it it's we they me my your his her its our their this that these those so do does did "
        "don't not no yes just what when why how who all up out get got can will would have has had there",
        "es": "el la los las un una unos unas y o pero de del a al en con por para es son fue ser soy eres yo tu "
        "tú él ella me mi mis te se lo le les que qué no si sí ya muy mas más este esta eso esto cuando como",
        "pt": "o a os as um uma e ou mas de do da dos das em no na nos nas com por para é são foi ser eu tu "
        "você ele ela me meu minha te se que não sim já muito mais este esta isso quando como",
        "de": "der die das den dem des ein eine einen einem und oder aber von zu im in an auf mit für ist sind "
        "war sein ich du er sie es wir ihr mich mir mein dein nicht nein ja so wenn was wie",
        "it": "il lo la i gli le un uno una e o ma di del della a al in con per è sono era essere io tu lui lei "
        "mi mio mia ti si che non sì già molto più questo questa quando come",
        "fr": "le la les un une des et ou mais de du à au en dans avec pour par est sont était être je tu il elle "
        "nous vous me mon ma te se que qui ne pas oui non ce cette quand comme",
        "ru": "и в во не на я он она оно мы вы они с со как а то все всё так его ее её но да ты к у же за бы по "  # noqa: RUF001
        "от из о что это мне меня мой моя если когда ну вот",  # noqa: RUF001
    }.items()
}
# Words after which a noun usually follows: the slot a query word or a city replaces.
_DETERMINERS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the a an my your his her our their this that some no every",
        "es": "el la los las un una mi mis tu tus su sus este esta ese esa",
        "pt": "o a os as um uma meu minha teu tua seu sua este esta esse essa",
        "de": "der die das den dem ein eine einen einem mein meine dein deine kein keine",
        "it": "il lo la i gli le un uno una mio mia tuo tua",
        "fr": "le la les un une mon ma mes ton ta ce cette",
        "ru": "мой моя моё мое твой твоя этот эта это",
    }.items()
}
_LOCATIVE = {"en": "in", "es": "en", "pt": "em", "de": "in", "it": "a", "fr": "à", "ru": "в", "bg": "в", "uk": "в"}
_MEMES_WORD = {"ru": "мемы", "bg": "мемета", "uk": "меми"}
# Last resort, when no model or no try gave a safe new caption: famous frames, filled in with the topic.
_FRAMES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "en": (
        ("X, X Everywhere", "{x}", "{x} everywhere"),
        ("Brace Yourselves", "brace yourselves", "{x} is coming"),
        ("One Does Not Simply", "one does not simply", "ignore {x}"),
    ),
    "es": (("X, X Everywhere", "{x}", "{x} por todas partes"),),
    "pt": (("X, X Everywhere", "{x}", "{x} por toda parte"),),
    "de": (("X, X Everywhere", "{x}", "{x} überall"),),
    "it": (("X, X Everywhere", "{x}", "{x} ovunque"),),
    "fr": (("X, X Everywhere", "{x}", "{x} partout"),),
    "ru": (("X, X Everywhere", "{x}", "{x} повсюду"),),
}

Caption = tuple[str, str, str]  # (template, upper, lower)
_Compiled = dict[tuple[str, ...], list[Any]]  # markovify's compiled model: state -> [words, cumulative counts]


def _strip_punct(token: str) -> str:
    start, end = 0, len(token)
    while start < end and unicodedata.category(token[start])[0] in "PS":
        start += 1
    while end > start and unicodedata.category(token[end - 1])[0] in "PS":
        end -= 1
    return token[start:end]


def bare(token: str) -> str:
    """The comparable form of a word: lower case, no surrounding punctuation."""
    return _strip_punct(token).lower()


def line_tokens(line: str) -> list[str]:
    """Words of a caption line, lower-cased (the chains are case-free; rendering upper-cases)."""
    line = unicodedata.normalize("NFC", line or "").strip()
    if line in ("", "-"):  # "-" is the LoC data set's "missing" placeholder
        return []
    return [token for token in line.lower().split() if token][:40]


def caption_fingerprint(upper: str, lower: str) -> str:
    """Identity of a caption for the novelty check: its words, ignoring case, punctuation and the line break."""
    words = [bare(t) for t in line_tokens(upper) + line_tokens(lower)]
    joined = " ".join(w for w in words if w)
    return hashlib.blake2b(joined.encode(), digest_size=8).hexdigest()


def _line_fingerprint(tokens: list[str]) -> str:
    joined = " ".join(w for w in (bare(t) for t in tokens) if w)
    return hashlib.blake2b(joined.encode(), digest_size=6).hexdigest()


def _chain_json(runs: list[list[str]]) -> list[Any] | None:
    return json.loads(markovify.Chain(runs, STATE_SIZE).to_json()) if runs else None


def _chain_load(data: list[Any] | None) -> _Compiled | None:
    if not data:
        return None
    return markovify.Chain.from_json(data).compile(inplace=True).model


def _draw(entry: list[Any], rng: random.Random) -> str:
    words, cumulative = entry
    return words[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


@dataclass(frozen=True, slots=True)
class _Template:
    name: str
    count: int
    upper: _Compiled | None
    lower: _Compiled | None


class CaptionModel:
    """A trained model for one language. Immutable after loading, so one instance serves all threads."""

    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a caption model file (format {data.get('format')!r}, expected {FORMAT!r})")
        self.lang: str = data["lang"]
        self.captions: int = data["captions"]
        self.trained_at: str = data.get("trained_at", "")
        chains = data["chains"]
        self._fwd: dict[str, _Compiled | None] = {k: _chain_load(chains.get(k)) for k in ("upper", "lower")}
        self._back: dict[str, _Compiled | None] = {k: _chain_load(chains.get(f"{k}_back")) for k in ("upper", "lower")}
        self._fingerprints = frozenset(data["fingerprints"])
        self._line_fingerprints = frozenset(data.get("line_fingerprints", ()))
        self._templates = [
            _Template(t["name"], t["count"], _chain_load(t.get("upper")), _chain_load(t.get("lower")))
            for t in data["templates"]
        ]
        # word -> [(template index, weight)] for picking the template a query is about
        index: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, t in enumerate(data["templates"]):
            named = sorted({bare(w) for w in t["name"].split()} - {""})
            for word in dict.fromkeys([*t["words"], *named]):
                count = t["words"].get(word, 0)
                # The name says what the template is about more surely than any caption does.
                index[word].append((i, (1.0 + math.log(count) if count else 0.0) + (3.0 if word in named else 0.0)))
        self._template_index = dict(index)
        by_count = sorted(
            range(len(self._templates)),
            key=lambda i: (-self._templates[i].count, self._templates[i].name),
        )
        self._popular = by_count[:POPULAR_TEMPLATES]
        # bare word -> the forward states that contain it, per line: where a conditioned walk can start
        self._word_states: dict[str, dict[str, list[tuple[str, ...]]]] = {}
        for which, model in self._fwd.items():
            states: dict[str, list[tuple[str, ...]]] = defaultdict(list)
            for state in model or ():
                for word in state:
                    if word != BEGIN and (key := bare(word)):
                        states[key].append(state)
            self._word_states[which] = dict(states)
        self._stop = _STOPWORDS.get(self.lang, frozenset())
        self._determiners = _DETERMINERS.get(self.lang, frozenset())

    # --- training and storage ---------------------------------------------------------------------

    @staticmethod
    def train(captions: Iterable[Caption], *, lang: str, trained_at: str = "") -> dict[str, Any]:
        """The model's JSON-able data, from (template, upper, lower) captions (already filtered for safety)."""
        lines: dict[str, list[list[str]]] = {"upper": [], "lower": []}
        per_template: dict[str, dict[str, Any]] = {}
        fingerprints: set[str] = set()
        line_fingerprints: set[str] = set()
        count = 0
        for template, upper, lower in captions:
            up, low = line_tokens(upper), line_tokens(lower)
            if not up and not low:
                continue
            count += 1
            fingerprints.add(caption_fingerprint(upper, lower))
            template = (template or "").strip()[:100] or "Meme"
            entry = per_template.setdefault(template, {"count": 0, "words": Counter(), "upper": [], "lower": []})
            entry["count"] += 1
            for which, tokens in (("upper", up), ("lower", low)):
                if tokens:
                    lines[which].append(tokens)
                    entry[which].append(tokens)
                    line_fingerprints.add(_line_fingerprint(tokens))
                    entry["words"].update(w for w in map(bare, tokens) if w)
        templates = []
        for name in sorted(per_template):
            entry = per_template[name]
            own = entry["count"] >= MIN_TEMPLATE_CAPTIONS
            templates.append(
                {
                    "name": name,
                    "count": entry["count"],
                    "words": dict(entry["words"].most_common(TEMPLATE_WORDS_KEPT)),
                    "upper": _chain_json(entry["upper"]) if own else None,
                    "lower": _chain_json(entry["lower"]) if own else None,
                }
            )
        return {
            "format": FORMAT,
            "lang": lang,
            "captions": count,
            "trained_at": trained_at,
            "chains": {
                "upper": _chain_json(lines["upper"]),
                "lower": _chain_json(lines["lower"]),
                "upper_back": _chain_json([list(reversed(t)) for t in lines["upper"]]),
                "lower_back": _chain_json([list(reversed(t)) for t in lines["lower"]]),
            },
            "templates": templates,
            "fingerprints": sorted(fingerprints),
            "line_fingerprints": sorted(line_fingerprints),
        }

    @staticmethod
    def save(data: dict[str, Any], path: Path) -> None:
        """Write atomically: a process loading the model never sees half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> CaptionModel:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    @property
    def is_empty(self) -> bool:
        return self._fwd["upper"] is None and self._fwd["lower"] is None

    def is_training_caption(self, upper: str, lower: str) -> bool:
        return caption_fingerprint(upper, lower) in self._fingerprints

    # --- generation -------------------------------------------------------------------------------

    def generate(
        self,
        *,
        query: str,
        place_name: str,
        rng: random.Random,
        is_safe: Callable[[str], bool],
        max_tries: int = 30,
    ) -> tuple[Caption, bool]:
        """A new, safe caption about the query (or the place): ``((template, upper, lower), from_model)``.

        ``from_model`` is False when every try failed and a fixed frame was used instead.
        """
        words = self._query_words(query)
        known = [w for w in words if w in self._word_states["upper"] or w in self._word_states["lower"]]
        # The rarest known word is the most specific one ("cat" over "good").
        topic = min(known, key=lambda w: (self._word_frequency(w), known.index(w))) if known else None
        phrase = "" if topic else self._phrase(query, words)
        place = " ".join(line_tokens(place_name))
        if not self.is_empty:
            template = self._template_pick(words, rng)
            for attempt in range(max_tries):
                if attempt >= max_tries // 2:
                    template = self._template_pick(words, rng)  # this template's lines keep failing: vary it
                lines = self._attempt(template, topic, phrase, place, rng)
                if lines is None:
                    continue
                up, low = lines
                upper, lower = " ".join(up).upper(), " ".join(low).upper()
                if len(upper) > MAX_LINE_CHARS or len(lower) > MAX_LINE_CHARS or not (upper or lower):
                    continue
                if caption_fingerprint(upper, lower) in self._fingerprints:
                    continue  # a copy of a catalogue caption
                if attempt < max_tries // 2 and self._both_lines_copied(up, low):
                    continue
                if is_safe(f"{upper} {lower}".strip()):
                    return (template.name, upper, lower), True
        return self._frame(topic or phrase or place, rng, is_safe), False

    def _query_words(self, query: str) -> list[str]:
        words: list[str] = []
        for token in line_tokens(query):
            word = bare(token)
            if word and word not in self._stop and word not in words and (len(word) > 1 or not word.isascii()):
                words.append(word)
        return words[:8]

    def _word_frequency(self, word: str) -> int:
        return sum(len(states.get(word, ())) for states in self._word_states.values())

    @staticmethod
    def _phrase(query: str, words: list[str]) -> str:
        """What to put in a slot for a query the corpus does not know: the query itself when short."""
        tokens = [t for t in (_strip_punct(t) for t in line_tokens(query)) if t]
        if 0 < len(tokens) <= 3 and len(" ".join(tokens)) <= 30:
            return " ".join(tokens)
        return max(words, key=len) if words else ""

    def template_candidates(self, query: str, *, limit: int = 8) -> list[str]:
        """Names of the templates that suit ``query`` best (the most used ones when none does)."""
        scores = self._template_scores(self._query_words(query))
        ranked = sorted(scores, key=lambda i: (-scores[i], self._templates[i].name)) if scores else self._popular
        return [self._templates[i].name for i in ranked[:limit]]

    def _template_scores(self, words: list[str]) -> dict[int, float]:
        scores: dict[int, float] = defaultdict(float)
        n = len(self._templates)
        for word in words:
            postings = self._template_index.get(word) or (
                self._template_index.get(word[:-1]) if word.endswith("s") else None
            )
            if not postings:
                continue
            idf = math.log(1 + n / len(postings))
            for i, weight in postings:
                scores[i] += idf * weight
        return scores

    def _template_pick(self, words: list[str], rng: random.Random) -> _Template:
        scores = self._template_scores(words)
        if scores:
            ranked = sorted(scores, key=lambda i: (-scores[i], self._templates[i].name))[:3]
            best = scores[ranked[0]]
            candidates = [i for i in ranked if scores[i] >= best / 2]
            weights = [scores[i] ** 2 for i in candidates]  # mostly the best, sometimes a close second
        else:
            candidates = self._popular
            weights = [self._templates[i].count for i in candidates]
        return self._templates[rng.choices(candidates, weights=weights)[0]]

    def _attempt(
        self,
        template: _Template,
        topic: str | None,
        phrase: str,
        place: str,
        rng: random.Random,
    ) -> tuple[list[str], list[str]] | None:
        lines: dict[str, list[str]] = {}
        topic_line = None
        if topic:
            in_upper = len(self._word_states["upper"].get(topic, ()))
            in_lower = len(self._word_states["lower"].get(topic, ()))
            topic_line = "upper" if rng.random() * (in_upper + in_lower) < in_upper else "lower"
            line = self._line_around(topic_line, topic, template, rng)
            if line is None:
                return None
            lines[topic_line] = line
        for which in ("upper", "lower"):
            if which not in lines:
                line = self._line_free(which, template, rng)
                if line is None:
                    return None
                lines[which] = line
        up, low = lines["upper"], lines["lower"]
        # An unknown query goes in a noun slot of the punchline first ("have a bad time" -> "have a <phrase>");
        # else it becomes the setup line, the classic "<subject> / <reaction>" meme.
        if not topic and phrase and not (self._substitute(low, phrase) or self._substitute(up, phrase)):
            up[:] = phrase.lower().split()
        if place and ((not topic and not phrase) or rng.random() < 0.35):
            target = low if topic_line != "lower" and low else up
            _append_words(target, [_LOCATIVE.get(self.lang, "—"), place])
        if (not up and not low) or len(up) > MAX_LINE_WORDS or len(low) > MAX_LINE_WORDS:
            return None
        return up, low

    def _walk(
        self,
        which: str,
        template: _Template,
        state: tuple[str, ...],
        rng: random.Random,
    ) -> list[str] | None:
        fallback = self._fwd[which]
        own: _Compiled | None = getattr(template, which)
        if fallback is None:
            return None
        words: list[str] = []
        for _ in range(MAX_LINE_WORDS + 1):
            entry = own.get(state) if own is not None and rng.random() < TEMPLATE_WEIGHT else None
            entry = entry or fallback.get(state)
            if entry is None:
                return None
            word = _draw(entry, rng)
            if word == END:
                return words
            words.append(word)
            state = (*state[1:], word)
        return None  # too long: let the caller try again

    def _line_free(self, which: str, template: _Template, rng: random.Random) -> list[str] | None:
        if self._fwd[which] is None:
            return []  # this language has no lines of that kind (e.g. only upper lines): leave it empty
        return self._walk(which, template, (BEGIN,) * STATE_SIZE, rng)

    def _line_around(self, which: str, word: str, template: _Template, rng: random.Random) -> list[str] | None:
        states = self._word_states[which].get(word)
        back = self._back[which]
        if not states or back is None:
            return None
        state = states[rng.randrange(len(states))]
        after = self._walk(which, template, state, rng)
        if after is None:
            return None
        before: list[str] = []
        if state[0] != BEGIN:
            back_state = tuple(reversed(state))
            for _ in range(MAX_LINE_WORDS + 1):
                entry = back.get(back_state)
                if entry is None:
                    return None
                prev = _draw(entry, rng)
                if prev == END:
                    break
                before.append(prev)
                back_state = (*back_state[1:], prev)
            else:
                return None
        return [*reversed(before), *(w for w in state if w != BEGIN), *after]

    def _substitute(self, tokens: list[str], phrase: str) -> bool:
        """Put ``phrase`` in place of the noun phrase after the last determiner; False when there is none.

        The noun phrase is the run of content words after the determiner (at most three, up to a stop
        word or punctuation), so "have a bad time" becomes "have a <phrase>".
        """
        for i in range(len(tokens) - 2, -1, -1):
            if bare(tokens[i]) not in self._determiners or tokens[i] != tokens[i].rstrip(".,!?;:"):
                continue
            end = i + 1
            while end < len(tokens) and end - i <= 3:
                word = bare(tokens[end])
                if not word or word in self._stop:
                    break
                end += 1
                if _strip_punct(tokens[end - 1]) != tokens[end - 1]:
                    break  # punctuation closes the phrase
            if end == i + 1:
                continue
            last = tokens[end - 1]
            core = _strip_punct(last)
            tail = last[last.find(core) + len(core) :] if core else ""
            tokens[i + 1 : end] = [*phrase.lower().split()[:-1], phrase.lower().split()[-1] + tail]
            return True
        return False

    def _both_lines_copied(self, up: list[str], low: list[str]) -> bool:
        lines = [t for t in (up, low) if t]
        return all(_line_fingerprint(t) in self._line_fingerprints for t in lines)

    def _frame(self, topic: str, rng: random.Random, is_safe: Callable[[str], bool]) -> Caption:
        frames = _FRAMES.get(self.lang, _FRAMES["en"])
        first = rng.randrange(len(frames))
        for word in (topic, _MEMES_WORD.get(self.lang, "memes")):
            for k in range(len(frames)):
                template, upper, lower = frames[(first + k) % len(frames)]
                upper, lower = upper.format(x=word).upper(), lower.format(x=word).upper()
                if word and is_safe(f"{upper} {lower}"):
                    return template, upper, lower
        template, upper, lower = _FRAMES["en"][0]
        return template, upper.format(x="memes").upper(), lower.format(x="memes").upper()


def _append_words(tokens: list[str], words: list[str]) -> None:
    """Append ``words`` before the line's closing punctuation: "accepted!" -> "accepted in paris!"."""
    if not tokens:
        tokens.extend(words)
        return
    last = tokens[-1]
    core = _strip_punct(last)
    cut = last.find(core) + len(core) if core else len(last)
    tail = last[cut:]
    if core:
        tokens[-1] = last[:cut]
        tokens.extend(words)
        tokens[-1] += tail
    else:  # the last token is punctuation only ("...")
        tokens[-1:] = [*words, last] if len(tokens) > 1 else [last, *words]


def empty_model(lang: str) -> CaptionModel:
    """A model with no captions: it answers with the fixed frames only."""
    return CaptionModel(CaptionModel.train((), lang=lang))
