"""The search engine: an immutable in-memory index of the catalogue, and its two query modes.

Built from the catalogue's rows by :func:`index_build`, one :class:`Partition` per language, and
read-only once built, so threads share it without locks (``memes.search.holder`` decides which
index a process serves and when to rebuild it). Measured at 100k memes: exact p50 0.08 ms, fuzzy
p99 ~6 ms, one-thread build ~4.5 s (docs/benchmarks.md).

Exact mode: BM25 over two fields, caption and template name (the template counts half: a word in
the caption is what the user is looking for, the template is context), computed with numpy over
posting lists in CSR layout, so the cost is the length of the query words' posting lists. A
coverage factor (share of the query's words a meme contains) puts memes with every word first; a
multi-word query found as a phrase gets ``PHRASE_BONUS`` among the ``RERANK_DEPTH`` best.

Fuzzy mode: character trigrams (words padded with a space on each side) prefilter candidates,
rarest trigrams first within a posting budget, at most ``FUZZY_CANDIDATES``; rapidfuzz's
``partial_ratio`` (best-aligned part of the caption; the template name counts 0.9) scores them,
below ``FUZZY_MIN_SCORE`` is no match, WRatio breaks ties. The last query word is not padded at its
end so that a prefix matches: "paran" finds "paranoid".

Place: memes that mention the caller's city, region or country (in caption or template) get
``PLACE_BONUS`` (x1.2); it reorders equal matches and near-ties, and does not lift a clearly weaker
match over a better one.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from memes.rating.levels import LEVELS, RANK
from memes.text import words

BM25_K1 = 1.2
BM25_B = 0.75
TEMPLATE_WEIGHT = 0.5
TEMPLATE_FUZZY_WEIGHT = 0.9
PHRASE_BONUS = 0.5
PLACE_BONUS = 0.2
FUZZY_CANDIDATES = 500
FUZZY_POSTINGS_BUDGET = 60_000  # posting entries read per fuzzy query, rarest trigrams first
FUZZY_MIN_SCORE = 70.0
RERANK_DEPTH = 20  # best exact hits whose phrase bonus is checked

# One catalogue row as the index reads it: id, template, text, kind, image_url, language, rating
# rank (memes.rating: 0 = g .. 4 = blocked; a hidden meme is indexed as blocked).
CatalogueRow = tuple[int, str, str, str, str, str, int]
BLOCKED_RANK = RANK["blocked"]


@dataclass(frozen=True)
class MemeHit:
    """One search result: what the API response needs, and how it matched."""

    id: int
    template: str
    text: str
    kind: str
    image_url: str
    language: str
    match: str
    score: float
    rating: str = "g"


@dataclass(frozen=True)
class _Field:
    """Posting lists of one field in CSR layout: term t's docs are ``docs[offsets[t]:offsets[t+1]]``."""

    vocab: dict[str, int]
    offsets: np.ndarray  # int64, len(vocab) + 1
    docs: np.ndarray  # int32
    weights: np.ndarray  # float32: the BM25 tf part, (k1 + 1) tf / (tf + k1 (1 - b + b len / avglen))
    idf: np.ndarray  # float32 per term

    def postings(self, token: str) -> tuple[np.ndarray, np.ndarray, float] | None:
        term = self.vocab.get(token)
        if term is None:
            return None
        start, end = self.offsets[term], self.offsets[term + 1]
        return self.docs[start:end], self.weights[start:end], float(self.idf[term])


class Partition:
    """The index of one language's memes. Read-only once built, so threads share it without locks."""

    def __init__(self, language: str, rows: Sequence[tuple[int, str, str, str, str, int]]) -> None:
        self.language = language
        n = len(rows)
        self.size = n
        self.ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=n)
        self.templates = [row[1] for row in rows]
        self.texts = [row[2] for row in rows]
        self.kinds = [row[3] for row in rows]
        self.image_urls = [row[4] for row in rows]
        self.ratings = np.fromiter((row[5] for row in rows), dtype=np.int8, count=n)
        # Per ceiling (rank 0..3), the memes above it: fuzzy search zeroes them in its candidate counts.
        self.above = [np.flatnonzero(self.ratings > ceiling).astype(np.int32) for ceiling in range(BLOCKED_RANK)]
        # Folded words joined by one space: what phrase, place and fuzzy matching compare.
        self.caption_texts: list[str] = []
        self.template_texts: list[str] = []  # one shared string per template

        template_words: dict[str, tuple[list[str], str]] = {}
        caption: list[list[str]] = []
        template: list[list[str]] = []
        for row in rows:
            caption_words = words(row[2])
            if row[1] not in template_words:
                folded = words(row[1])
                template_words[row[1]] = (folded, " ".join(folded))
            this_template, this_template_text = template_words[row[1]]
            caption.append(caption_words)
            template.append(this_template)
            self.caption_texts.append(" ".join(caption_words))
            self.template_texts.append(this_template_text)
        self.caption = _build_field(caption)
        self.template = _build_field(template)
        self.grams_vocab, self.grams_offsets, self.grams_docs = _build_grams(n, (self.caption, self.template))

    # --- exact -------------------------------------------------------------------------------
    def exact(self, tokens: list[str], *, limit: int, place_terms: list[list[str]], max_rank: int) -> list[MemeHit]:
        scores = np.zeros(self.size, dtype=np.float32)
        # One bit per query word a doc contains (in either field), for the coverage factor below.
        covered = np.zeros(self.size, dtype=np.uint64)
        distinct = list(dict.fromkeys(tokens))
        for position, token in enumerate(distinct):
            bit = np.uint64(1 << (position % 64))
            for field, weight in ((self.caption, 1.0), (self.template, TEMPLATE_WEIGHT)):
                found = field.postings(token)
                if found is not None:
                    docs, tf_weights, idf = found
                    scores[docs] += (weight * idf) * tf_weights  # docs are unique within one posting list
                    covered[docs] |= bit
        matched = np.flatnonzero(covered)
        if not len(matched):
            return []
        if len(distinct) > 1:
            # Coverage ("coord"): a meme with all the words beats one repeating a single word.
            scores[matched] *= np.bitwise_count(covered[matched]).astype(np.float32) / min(len(distinct), 64)
        if place_terms:
            self._place_boost(scores, place_terms)
        depth = max(limit, RERANK_DEPTH)
        top = _top(scores, depth, strict_limit=True)
        if max_rank < BLOCKED_RANK and len(top):
            # The ceiling, applied to the best few rather than to every match: what is left of
            # them is still the best within the ceiling. Only when too few are left are all the
            # matched memes filtered (cost proportional to the query's matches, not the catalogue).
            allowed = self.ratings[top] <= max_rank
            if not allowed.all():
                if int(allowed.sum()) >= limit or len(top) < depth:
                    top = top[allowed]
                else:
                    scores[matched[self.ratings[matched] > max_rank]] = 0
                    top = _top(scores, depth, strict_limit=True)
        if len(tokens) > 1 and len(top):
            phrase = (" " + " ".join(tokens) + " ",)
            has_phrase = np.fromiter((self._mentions(i, phrase) for i in top.tolist()), dtype=bool, count=len(top))
            if has_phrase.any():
                values = scores[top] * np.where(has_phrase, 1 + PHRASE_BONUS, 1.0).astype(np.float32)
                order = np.lexsort((top, -values))
                top, top_scores = top[order], values[order]
                return [
                    self._hit(int(i), "exact", float(v)) for i, v in zip(top[:limit], top_scores[:limit], strict=False)
                ]
        return [self._hit(int(index), "exact", float(scores[index])) for index in top[:limit]]

    def _place_boost(self, scores: np.ndarray, place_terms: list[list[str]]) -> None:
        boosted: set[int] = set()
        for name_tokens in place_terms:
            docs: np.ndarray | None = None
            for token in name_tokens:  # a doc mentions "new york" when it has both words
                token_docs = self._docs_with(token)
                docs = token_docs if docs is None else np.intersect1d(docs, token_docs, assume_unique=True)
                if not len(docs):
                    break
            if docs is not None and len(docs):
                boosted.update(docs[scores[docs] > 0].tolist())
        if boosted:
            index = np.fromiter(boosted, dtype=np.int64, count=len(boosted))
            scores[index] *= 1 + PLACE_BONUS

    def _mentions(self, index: int, phrases: Iterable[str]) -> bool:
        """Whether caption or template contains one of ``phrases`` (folded, padded with spaces)."""
        caption = " " + self.caption_texts[index] + " "
        template = " " + self.template_texts[index] + " "
        return any(phrase in caption or phrase in template for phrase in phrases)

    def _docs_with(self, token: str) -> np.ndarray:
        found = [f.postings(token) for f in (self.caption, self.template)]
        parts = [entry[0] for entry in found if entry is not None]
        if not parts:
            return np.empty(0, dtype=np.int32)
        return parts[0] if len(parts) == 1 else np.union1d(parts[0], parts[1])

    # --- fuzzy -------------------------------------------------------------------------------
    def fuzzy(self, tokens: list[str], *, limit: int, place_terms: list[list[str]], max_rank: int) -> list[MemeHit]:
        candidates, shared = self._fuzzy_candidates(tokens, max_rank=max_rank)
        if not len(candidates):
            return []
        query = " ".join(tokens)
        captions = [self.caption_texts[index] for index in candidates]
        # partial_ratio: how well the query matches the best-aligned part of the text, so a long
        # caption is not penalised for saying more. A match in the template name counts a little
        # less than one in the caption (each distinct template is scored once).
        scores = process.cdist([query], captions, scorer=fuzz.partial_ratio, dtype=np.float32, workers=1)[0]
        template_scores: dict[str, float] = {}
        for position, index in enumerate(candidates):
            template = self.template_texts[index]
            if template not in template_scores:
                template_scores[template] = TEMPLATE_FUZZY_WEIGHT * fuzz.partial_ratio(query, template)
            scores[position] = max(scores[position], template_scores[template])
        keep = np.flatnonzero(scores >= FUZZY_MIN_SCORE)
        if not len(keep):
            return []
        candidates, scores, shared = candidates[keep], scores[keep], shared[keep]
        # Whole-string similarity only breaks ties: "paranoid" before "paranoid about the stove".
        closeness = process.cdist(
            [query],
            [self.caption_texts[index] + " " + self.template_texts[index] for index in candidates],
            scorer=fuzz.WRatio,
            dtype=np.float32,
            workers=1,
        )[0]
        final = scores.astype(np.float64)
        if place_terms:
            phrases = [" " + " ".join(name) + " " for name in place_terms]
            for position, index in enumerate(candidates):
                if self._mentions(int(index), phrases):
                    final[position] *= 1 + PLACE_BONUS
        # Best score first; then the closer whole match, more shared trigrams, the older meme.
        order = np.lexsort((candidates, -shared, -closeness, -final))[:limit]
        return [self._hit(int(candidates[i]), "fuzzy", float(final[i])) for i in order]

    def _fuzzy_candidates(self, tokens: list[str], *, max_rank: int) -> tuple[np.ndarray, np.ndarray]:
        grams: set[str] = set()
        for position, token in enumerate(tokens):
            grams.update(_grams(token, pad_end=position < len(tokens) - 1))
        lists = []
        for gram in grams:
            gram_id = self.grams_vocab.get(gram)
            if gram_id is not None:
                start, end = self.grams_offsets[gram_id], self.grams_offsets[gram_id + 1]
                lists.append(self.grams_docs[start:end])
        if not lists:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        lists.sort(key=len)  # rarest first: they discriminate, and they are cheap
        chosen: list[np.ndarray] = []
        budget = 0
        for docs in lists:
            if chosen and budget + len(docs) > FUZZY_POSTINGS_BUDGET:
                break
            chosen.append(docs)
            budget += len(docs)
        counts = np.bincount(np.concatenate(chosen), minlength=self.size)
        if max_rank < BLOCKED_RANK:
            counts[self.above[max_rank]] = 0
        candidates = _top(counts, FUZZY_CANDIDATES, strict_limit=True)
        return candidates, counts[candidates]

    def _hit(self, index: int, match: str, score: float) -> MemeHit:
        return MemeHit(
            id=int(self.ids[index]),
            template=self.templates[index],
            text=self.texts[index],
            kind=self.kinds[index],
            image_url=self.image_urls[index],
            language=self.language,
            match=match,
            score=round(score, 4),
            rating=LEVELS[self.ratings[index]],
        )


def _top(scores: np.ndarray, k: int, *, strict_limit: bool = False) -> np.ndarray:
    """Indexes of the ``k`` best positive scores, best first, ties by index (deterministic).

    With ties at the cut, every tied index is kept unless ``strict_limit``.
    """
    positive = np.flatnonzero(scores > 0)
    if len(positive) > k:
        values = scores[positive]
        threshold = np.partition(values, len(values) - k)[len(values) - k]
        positive = positive[values >= threshold]
    ordered = _order(positive, scores[positive])
    return ordered[:k] if strict_limit else ordered


def _order(indexes: np.ndarray, values: np.ndarray) -> np.ndarray:
    return indexes[np.lexsort((indexes, -values))]


def _grams(token: str, *, pad_end: bool = True) -> list[str]:
    padded = " " + token + (" " if pad_end else "")
    if len(padded) < 3:
        padded = " " + token + " "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


def _build_field(docs_tokens: list[list[str]]) -> _Field:
    vocab: dict[str, int] = {}
    terms, docs, tfs = array("i"), array("i"), array("f")
    lengths = np.zeros(max(len(docs_tokens), 1), dtype=np.float32)
    for doc, tokens in enumerate(docs_tokens):
        lengths[doc] = len(tokens)
        for token, tf in Counter(tokens).items():
            terms.append(vocab.setdefault(token, len(vocab)))
            docs.append(doc)
            tfs.append(tf)
    term_arr = np.frombuffer(terms, dtype=np.int32)
    doc_arr = np.frombuffer(docs, dtype=np.int32)
    tf_arr = np.frombuffer(tfs, dtype=np.float32)
    order = np.argsort(term_arr, kind="stable")  # grouped by term, docs ascending within a term
    term_arr, doc_arr, tf_arr = term_arr[order], doc_arr[order], tf_arr[order]
    df = np.bincount(term_arr, minlength=len(vocab))
    offsets = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(df, out=offsets[1:])
    n = len(docs_tokens)
    avg_length = float(lengths[:n].mean()) if n and lengths[:n].mean() > 0 else 1.0
    norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[doc_arr] / avg_length)
    weights = (tf_arr * (BM25_K1 + 1) / (tf_arr + norm)).astype(np.float32)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    return _Field(vocab=vocab, offsets=offsets, docs=doc_arr.copy(), weights=weights, idf=idf)


def _build_grams(n: int, fields: Iterable[_Field]) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """Trigram -> docs (CSR), from each word's trigrams and the word's posting lists, vectorised."""
    token_ids: dict[str, int] = {}
    pair_tokens, pair_docs = [], []
    for field in fields:
        local_to_global = np.fromiter(
            (token_ids.setdefault(token, len(token_ids)) for token in field.vocab),
            dtype=np.int64,
            count=len(field.vocab),
        )
        lengths = np.diff(field.offsets)
        pair_tokens.append(np.repeat(local_to_global, lengths))
        pair_docs.append(field.docs)
    gram_ids: dict[str, int] = {}
    token_grams = array("i")
    token_offsets = array("q", [0])
    for token in token_ids:  # dicts keep insertion order, which is the global id order
        token_grams.extend({gram_ids.setdefault(gram, len(gram_ids)) for gram in _grams(token)})
        token_offsets.append(len(token_grams))
    tg = np.frombuffer(token_grams, dtype=np.int32)
    tg_offsets = np.frombuffer(token_offsets, dtype=np.int64)
    tokens = np.concatenate(pair_tokens) if pair_tokens else np.empty(0, dtype=np.int64)
    docs = np.concatenate(pair_docs).astype(np.int64) if pair_docs else np.empty(0, dtype=np.int64)
    counts = (tg_offsets[1:] - tg_offsets[:-1])[tokens]
    total = int(counts.sum())
    starts = np.repeat(tg_offsets[:-1][tokens], counts)
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    keys = np.unique(tg[starts + within].astype(np.int64) * max(n, 1) + np.repeat(docs, counts))
    gram_of_key = keys // max(n, 1)
    offsets = np.searchsorted(gram_of_key, np.arange(len(gram_ids) + 1, dtype=np.int64)).astype(np.int64)
    return gram_ids, offsets, (keys % max(n, 1)).astype(np.int32)


@dataclass(frozen=True)
class SearchIndex:
    version: str
    partitions: dict[str, Partition]
    size: int


def index_build(version: str, rows: Iterable[CatalogueRow]) -> SearchIndex:
    """An index of ``rows`` (id, template, text, kind, image_url, language, rating rank, in id order),
    which holds the catalogue at ``version``."""
    by_language: dict[str, list[tuple[int, str, str, str, str, int]]] = {}
    interned: dict[str, str] = {}
    seen: set[tuple[str, str, str]] = set()
    for meme_id, template, text, kind, image_url, language, rank in rows:
        # The data set holds the same caption on the same template many times (re-posts): index
        # the oldest only, so that a search for several memes does not return copies.
        key = (language, template.casefold(), " ".join(text.casefold().split()))
        if key in seen:
            continue
        seen.add(key)
        template = interned.setdefault(template, template)  # thousands of memes share a template
        by_language.setdefault(language, []).append((meme_id, template, text, kind, image_url, rank))
    partitions = {language: Partition(language, kept) for language, kept in by_language.items() if language}
    return SearchIndex(version=version, partitions=partitions, size=sum(p.size for p in partitions.values()))
