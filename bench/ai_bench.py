# ruff: noqa: RUF001  (Cyrillic captions and the multiplication sign are intended)
"""Benchmark: local AI caption generation and meme image rendering (one thread, one core).

Trains the local model on the real LoC subset in ../shared/data when present (else on the repo's sample
catalogue), through the same safety filter as the database path, and stores it where the generator
loads it from. Then, for several runs (the figures are the median over runs):

* generation latency p50/p99 of ``LocalGenerator.generate`` (query mix: words the corpus knows, words it
  does not, no query but a place), against markovify's own ``make_sentence`` on the same lines;
* render latency p50/p99 of ``render_meme_png`` for short, long and Cyrillic captions, on templates already
  seen (background cached) and on new ones, against encoding a blank PNG of the same size;
* the per-caption checks of an import and of every generated caption: language detection and the
  safety filter (a 100k-row import spends 100k of each).

    .venv/bin/python bench/ai_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if not os.environ.get("MAAS_VAR_DIR"):
    os.environ["MAAS_VAR_DIR"] = tempfile.mkdtemp(prefix="maas-ai-bench-")  # no database is needed

import django  # noqa: E402

django.setup()

import io  # noqa: E402

import markovify  # noqa: E402
from _report import median, percentile, progress, write_section  # noqa: E402
from django.conf import settings  # noqa: E402
from PIL import Image  # noqa: E402

from memes.generation.local import LocalGenerator, registry  # noqa: E402
from memes.generation.model import CaptionModel  # noqa: E402
from memes.geo import Place  # noqa: E402
from memes.language import detect_language  # noqa: E402
from memes.rendering import render_meme_png  # noqa: E402
from memes.safety import text_safety  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
QUERIES = ["cat", "beer", "monday", "school", "winter", "coffee", "kubernetes", "quantum physics", ""]
PLACE = Place(city="Chicago", region="Illinois", country="United States", country_code="US", distance_km=3.0)


def load_captions() -> tuple[str, dict[str, list[tuple[str, str, str]]]]:
    if (SHARED / "loc_memegenerator_subset.csv").exists():
        memes, langs, source = (
            SHARED / "loc_memegenerator_subset.csv",
            SHARED / "loc_memegenerator_language.csv",
            "LoC subset (shared/data)",
        )
    else:
        memes, langs = ROOT / "memes/sample/sample_memes.csv", ROOT / "memes/sample/sample_languages.csv"
        source = "repo sample (memes/sample)"
    with langs.open(encoding="utf-8") as handle:
        language = {row["Meme ID"]: row["Language"] for row in csv.DictReader(handle)}
    by_lang: dict[str, list[tuple[str, str, str]]] = {}
    with memes.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            lang = language.get(row["Meme ID"], "")
            upper, lower = (v if v != "-" else "" for v in (row["Upper Text"], row["Lower Text"]))
            template = row["Base Meme Name"]
            if (
                lang in ("en", "ru")
                and (upper or lower)
                and text_safety(f"{upper} {lower}", language=lang)[0]
                and text_safety(template, language=lang)[0]
            ):
                by_lang.setdefault(lang, []).append((template, upper, lower))
    return source, by_lang


def timed(fn: Callable[[], object], n: int) -> list[float]:
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def one_run(
    run: int,
    runs: int,
    generator: LocalGenerator,
    reference: markovify.Text,
    with_russian: bool,
    n_gen: int,
    n_render: int,
    record: Callable[[str, list[float]], None],
    generator_captions: list[tuple[str, str, str]],
) -> None:
    seeds = iter(range(run * 10**6, (run + 1) * 10**6))
    rng = random.Random(run)
    progress(f"run {run}/{runs}: generation")
    record(
        "gen_en",
        timed(lambda: generator.generate(query=rng.choice(QUERIES), place=PLACE, lang="en", seed=next(seeds)), n_gen),
    )
    if with_russian:
        ru_queries = ["кот", "пиво", "работа", ""]
        record(
            "gen_ru",
            timed(
                lambda: generator.generate(query=rng.choice(ru_queries), place=None, lang="ru", seed=next(seeds)),
                n_gen // 2,
            ),
        )
    captions = [f"{up} {low}" for _, up, low in generator_captions]
    record("detect_language", timed(lambda: detect_language(rng.choice(captions)), n_gen))
    record("text_safety", timed(lambda: text_safety(rng.choice(captions), language="en"), n_gen))
    random.seed(run)  # markovify draws from the global generator
    record("markovify", timed(lambda: reference.make_sentence(tries=10), n_gen))

    progress(f"run {run}/{runs}: rendering")
    templates = ["Success Kid", "Grumpy Cat", "Philosoraptor"]
    cases = [
        ("short", "One does not simply", "benchmark on two cores"),
        ("long", "when the benchmark " * 8, "and the machine is shared with four other engineers " * 3),
        ("cyrillic", "Когда пятница", "а дедлайн в понедельник"),
    ]
    for name, upper, lower in cases:
        record(
            f"render_{name}",
            timed(
                lambda u=upper, lw=lower: render_meme_png(upper=u, lower=lw, template=rng.choice(templates)), n_render
            ),
        )
    fresh = iter(range(10**9))
    record(
        "render_new_template",
        timed(
            lambda: render_meme_png(
                upper="New template", lower="cold background", template=f"bench-{run}-{next(fresh)}"
            ),
            n_render,
        ),
    )
    blank = Image.new("RGB", (600, 600), (90, 60, 120))
    record("png_blank", timed(lambda: blank.save(io.BytesIO(), format="PNG", compress_level=3), n_render))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    args = parser.parse_args()
    runs = 3 if args.quick else 5
    n_gen = 300 if args.quick else 3000
    n_render = 20 if args.quick else 150

    source, by_lang = load_captions()
    model_dir = Path(tempfile.mkdtemp(prefix="maas-ai-models-"))
    settings.MEMES = {**settings.MEMES, "AI_MODEL_DIR": str(model_dir)}
    registry.reset()
    train_info = []
    for lang, captions in by_lang.items():
        started = time.perf_counter()
        CaptionModel.save(CaptionModel.train(captions, lang=lang), model_dir / f"ai_model_{lang}.json")
        train_info.append(f"{lang}: {len(captions)} safe captions, trained in {time.perf_counter() - started:.2f} s")
    progress(f"source={source} " + "; ".join(train_info))
    generator = LocalGenerator()
    started = time.perf_counter()
    generator.model_for("en")
    load_ms = (time.perf_counter() - started) * 1000
    generator.model_for("ru")  # loaded before timing, like a warm server process
    lines = "\n".join(line for _, up, low in by_lang["en"] for line in (up, low) if line)
    reference = markovify.NewlineText(lines, state_size=2, well_formed=False)

    results: dict[str, list[tuple[float, float]]] = {}

    def record(name: str, timings: list[float]) -> None:
        results.setdefault(name, []).append((percentile(timings, 50), percentile(timings, 99)))

    for run in range(1, runs + 1):
        one_run(run, runs, generator, reference, "ru" in by_lang, n_gen, n_render, record, by_lang["en"])

    def fig(name: str) -> tuple[float, float]:
        return median([p50 for p50, _ in results[name]]), median([p99 for _, p99 in results[name]])

    rows = [
        ("Local AI caption, en (query mix + place)", "gen_en", "markovify"),
        ("Local AI caption, ru (ratio to the en reference)", "gen_ru", "markovify"),
        ("Reference: markovify `make_sentence` (same en lines)", "markovify", None),
        ("Language detection of one caption (py3langid; import path)", "detect_language", "markovify"),
        ("Safety filter on one caption (import path, every generated candidate)", "text_safety", "markovify"),
        ("Render 600×600 PNG, short caption", "render_short", "png_blank"),
        ("Render, long caption (wrapped, shrunk)", "render_long", "png_blank"),
        ("Render, Cyrillic caption (fallback font)", "render_cyrillic", "png_blank"),
        ("Render, never-seen template (background drawn)", "render_new_template", "png_blank"),
        ("Reference: encode a blank 600×600 PNG", "png_blank", None),
    ]
    table = ["| what | p50 ms | p99 ms | p50 ratio to reference |", "|---|---|---|---|"]
    for label, name, ref in rows:
        if name not in results:
            continue
        p50, p99 = fig(name)
        ratio = f"{p50 / fig(ref)[0]:.1f}×" if ref else "—"
        table.append(f"| {label} | {p50:.3f} | {p99:.3f} | {ratio} |")
    body = (
        f"Training data: {source}; "
        + "; ".join(train_info)
        + f". Model file load: {load_ms:.0f} ms (once per process).\n"
        f"{runs} runs × {n_gen} generations and {n_render} renders per case; figures are the median over runs of each "
        "run's percentile. One thread. Generation includes the safety filter on every candidate; the budget is "
        "50 ms per meme.\n\n" + "\n".join(table)
    )
    command = "python bench/ai_bench.py" + (" --quick" if args.quick else "")
    write_section("ai", "Local AI generation and meme rendering", command, body)
    shutil.rmtree(model_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
