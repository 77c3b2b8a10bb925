"""Training the local caption model from the catalogue: which captions, and where the model is stored."""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Count

from memes.conf import memes_setting
from memes.generation.model import CaptionModel
from memes.models import Meme
from memes.safety import text_safety

logger = logging.getLogger("memes.generation")

_LANG_RE = re.compile(r"^[a-z]{2,3}$")


def language_normalize(lang: str | None) -> str:
    """The two- or three-letter code of ``lang`` ("en-US" -> "en"); anything else -> the default language.

    The code ends up in a file name, so nothing else may pass.
    """
    code = (lang or "").strip().lower().replace("_", "-").split("-")[0]
    if _LANG_RE.match(code):
        return code
    return str(memes_setting("DEFAULT_LANGUAGE"))


def model_path(lang: str) -> Path:
    """Where the model of ``lang`` lives: ``MEMES["AI_MODEL_DIR"]`` (default VAR_DIR)/ai_model_<lang>.json."""
    directory = Path(str(memes_setting("AI_MODEL_DIR") or settings.VAR_DIR))
    return directory / f"ai_model_{language_normalize(lang)}.json"


def training_captions(*, lang: str) -> Iterator[tuple[str, str, str]]:
    """(template, upper, lower) of the safe catalogue captions in ``lang``, under templates with safe names.

    Our own AI memes are left out: a model trained on its own output drifts into repeating itself.
    """
    rows = (
        Meme.objects.filter(is_safe=True, language=lang, rating__in=["g", "pg"], hidden=False)
        .exclude(kind=Meme.Kind.AI)
        .values_list("template", "upper_text", "lower_text")
        .order_by("id")
    )
    for template, upper, lower in rows.iterator(chunk_size=2000):
        if ((upper or "").strip() or (lower or "").strip()) and _template_is_safe(template, lang):
            yield template, upper or "", lower or ""


@functools.lru_cache(maxsize=8192)
def _template_is_safe(name: str, lang: str) -> bool:
    # The generator names its template in the response and prints it on the picture, so an offensive
    # template name is as bad as an offensive caption, even under a harmless caption.
    return text_safety(name, language=lang)[0]


def training_languages(*, min_captions: int = 1) -> dict[str, int]:
    """Languages with at least ``min_captions`` safe catalogue captions, with their counts."""
    rows = (
        Meme.objects.filter(is_safe=True)
        .exclude(kind=Meme.Kind.AI)
        .exclude(language="")
        .values("language")
        .annotate(n=Count("id"))
        .filter(n__gte=min_captions)
        .order_by("-n", "language")
    )
    return {row["language"]: row["n"] for row in rows}


def model_data_build(*, lang: str) -> dict[str, Any]:
    """The model of ``lang`` trained from the database, not saved."""
    return CaptionModel.train(training_captions(lang=lang), lang=lang, trained_at=datetime.now(UTC).isoformat())


@dataclass(frozen=True)
class TrainingReport:
    lang: str
    captions: int
    templates: int
    path: Path
    seconds: float
    bytes: int


def ai_model_train(*, lang: str, path: Path | None = None) -> TrainingReport:
    """Train the model of ``lang`` from the database and store it (atomically) for every process to load."""
    lang = language_normalize(lang)
    started = time.perf_counter()
    data = model_data_build(lang=lang)
    target = path or model_path(lang)
    CaptionModel.save(data, target)
    report = TrainingReport(
        lang=lang,
        captions=data["captions"],
        templates=len(data["templates"]),
        path=target,
        seconds=time.perf_counter() - started,
        bytes=target.stat().st_size,
    )
    logger.info(
        "ai_model_trained lang=%s captions=%d templates=%d path=%s bytes=%d seconds=%.2f",
        lang,
        report.captions,
        report.templates,
        target,
        report.bytes,
        report.seconds,
    )
    return report
