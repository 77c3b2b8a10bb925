"""The local AI generator: the Markov caption model (see :mod:`memes.generation.model`), served offline.

Models are loaded once per process and shared by all threads. Each language's model comes from
``ai_model_<lang>.json`` (written by ``manage.py train_ai``); a process notices a newer file (checked
at most once a second) and swaps it in. When there is no file, the process trains the model from the
database **once**, in memory, and logs ``ai_model_trained_on_the_fly``: the first AI meme of that
language pays the training time (~0.1 s per 1,000 captions), later ones do not. Run ``train_ai`` after
an import to keep that out of requests. A language with no captions uses the default language's model,
and with no captions at all the generator still answers, with classic meme frames filled in with the
query ("<QUERY> / <QUERY> EVERYWHERE").
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memes.conf import memes_setting
from memes.generation.base import GeneratedCaption
from memes.generation.model import CaptionModel, empty_model
from memes.generation.training import language_normalize, model_data_build, model_path

if TYPE_CHECKING:
    from memes.geo import Place

logger = logging.getLogger("memes.generation")

_RECHECK_SECONDS = 1.0  # how stale a process's view of the model file may be
_EMPTY_RETRY_SECONDS = 60.0  # a language with no captions is looked up again after this long


def place_label(place: Place | None) -> str:
    """The name to put in a caption: the city, else the region, else the country ("" far from land)."""
    if place is None:
        return ""
    for attr in ("city", "region", "country"):
        value = getattr(place, attr, None)
        if value and str(value).strip():
            return str(value).strip()
    return ""


def caption_is_safe(text: str, *, lang: str) -> bool:
    """The catalogue's safety filter and its rating rules, applied to generated text: the generator
    itself keeps to pg (serving then checks the caller's ceiling, and regenerates above it)."""
    from memes.rating import RANK, rate_text
    from memes.safety import text_safety

    return text_safety(text, language=lang)[0] and rate_text(text, language=lang).rank <= RANK["pg"]


@dataclass
class _Entry:
    model: CaptionModel
    source: str  # "file", "database" or "empty"
    mtime_ns: int
    checked_at: float


class ModelRegistry:
    """The loaded models of this process, one per language; thread-safe, lazily loaded."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def get(self, lang: str) -> CaptionModel:
        entry = self._entries.get(lang)
        now = time.monotonic()
        if entry is not None and now - entry.checked_at < _RECHECK_SECONDS:
            return entry.model
        with self._lock:  # one thread loads or trains; the others wait for its result instead of repeating it
            entry = self._entries.get(lang)
            if entry is not None and now - entry.checked_at < _RECHECK_SECONDS:
                return entry.model
            entry = self._refresh(lang, entry, now)
            self._entries[lang] = entry
            return entry.model

    def _refresh(self, lang: str, entry: _Entry | None, now: float) -> _Entry:
        path = model_path(lang)
        try:
            mtime_ns = path.stat().st_mtime_ns
        except OSError:
            mtime_ns = 0
        if mtime_ns:
            if entry is not None and entry.source == "file" and entry.mtime_ns == mtime_ns:
                entry.checked_at = now
                return entry
            try:
                started = time.perf_counter()
                model = CaptionModel.load(path)
                logger.info(
                    "ai_model_loaded lang=%s path=%s captions=%d seconds=%.3f",
                    lang,
                    path,
                    model.captions,
                    time.perf_counter() - started,
                )
                return _Entry(model, "file", mtime_ns, now)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                logger.error(
                    "ai_model_unreadable lang=%s path=%s error=%r action=retrain_with_train_ai", lang, path, exc
                )
                if entry is not None:
                    entry.checked_at = now
                    return entry
        if entry is not None and (entry.source == "database" or now - entry.checked_at < _EMPTY_RETRY_SECONDS):
            # Trained once per process; a file written later replaces it (checked above).
            entry.checked_at = now if entry.source == "database" else entry.checked_at
            return entry
        if not memes_setting("AI_TRAIN_ON_THE_FLY"):
            return _Entry(empty_model(lang), "empty", 0, now)
        started = time.perf_counter()
        model = CaptionModel(model_data_build(lang=lang))
        logger.info(
            "ai_model_trained_on_the_fly lang=%s captions=%d seconds=%.3f hint=run_manage.py_train_ai",
            lang,
            model.captions,
            time.perf_counter() - started,
        )
        return _Entry(model, "empty" if model.is_empty else "database", 0, now)

    def reset(self) -> None:
        """Forget every loaded model (tests; a deploy that swaps the model directory)."""
        with self._lock:
            self._entries.clear()


registry = ModelRegistry()


class LocalGenerator:
    """Captions from the local Markov model: offline, well under a millisecond per caption once loaded."""

    name = "local"

    def __init__(self, *, models: ModelRegistry | None = None) -> None:
        self._models = models or registry

    def model_for(self, lang: str) -> CaptionModel:
        """The model that answers for ``lang``: its own, else the default language's, else an empty one."""
        lang = language_normalize(lang)
        model = self._models.get(lang)
        default = language_normalize(str(memes_setting("DEFAULT_LANGUAGE")))
        if model.is_empty and lang != default:
            fallback = self._models.get(default)
            if not fallback.is_empty:
                return fallback
        return model

    def generate(self, *, query: str, place: Place | None, lang: str, seed: int | None = None) -> GeneratedCaption:
        model = self.model_for(lang)
        rng = random.Random(seed) if seed is not None else random.Random()
        (template, upper, lower), from_model = model.generate(
            query=query or "",
            place_name=place_label(place),
            rng=rng,
            is_safe=lambda text: caption_is_safe(text, lang=model.lang),
        )
        if not from_model:
            logger.info("ai_caption_frame lang=%s reason=no_model_or_no_safe_caption", model.lang)
        return GeneratedCaption(
            template=template,
            upper=upper,
            lower=lower,
            text=" ".join(part for part in (upper, lower) if part),
            generator=self.name,
            language=model.lang,
        )
