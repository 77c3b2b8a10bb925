"""Evaluation and cost of content ratings (memes.rating) on the LoC subset in ../shared/data.

* counts per rating and language over the whole subset (caption + template name, as an import rates);
* precision and recall of ``blocked`` on the hand-labelled sample ``bench/rating_labels.csv`` (meme ids
  and our labels only: the captions stay in ../shared/data);
* rating time per caption (every caption of the subset, uncached) and per AI-sized caption, against the
  previous safety filter (``memes.safety.text_safety``) in the same run;
* import rate of the subset with ratings against the same import with the previous safety filter in
  their place (same run, alternating, median of runs), on a temporary SQLite database;
* in-process search throughput with the pg-13 ceiling filter against no rating filter (same run).

    .venv/bin/python bench/rating_eval.py [--runs N]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
# ../shared/data next to the checkout (a worktree one level deeper finds it one level up).
SHARED = next(
    (p for p in (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data") if p.exists()),
    ROOT.parent / "shared" / "data",
)
SUBSET = SHARED / "loc_memegenerator_subset.csv"
LANGUAGES = SHARED / "loc_memegenerator_language.csv"
LABELS = ROOT / "bench" / "rating_labels.csv"
MAIN_LANGUAGES = ("en", "es", "ru", "pt", "de", "it")


def setup_django() -> None:
    var_dir = Path(tempfile.mkdtemp(prefix="maas-rating-bench-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{var_dir / 'bench.sqlite3'}",
            "MAAS_VAR_DIR": str(var_dir),
            "LOG_LEVEL": "WARNING",
        }
    )
    for name in ("REDIS_URL", "BROKER_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def subset_rows() -> list[tuple[str, str, str, str]]:
    """(meme id, language, caption, template) as the import reads them."""
    languages = {row[0]: row[1] for row in csv.reader(LANGUAGES.open(encoding="utf-8"))}
    rows = []
    for record in csv.DictReader(SUBSET.open(encoding="utf-8")):
        upper = "" if record["Upper Text"] == "-" else record["Upper Text"]
        lower = "" if record["Lower Text"] == "-" else record["Lower Text"]
        text = " ".join(part for part in (upper, lower) if part) or record["Alternate Text"]
        rows.append((record["Meme ID"], languages.get(record["Meme ID"], ""), text, record["Base Meme Name"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not SUBSET.exists():
        sys.exit(f"needs the LoC subset at {SUBSET}")
    setup_django()
    from _report import median, progress, write_section

    from memes.rating import rate_meme
    from memes.rating.engine import text_caches_clear
    from memes.safety import text_safety

    rows = subset_rows()
    progress(f"{len(rows)} rows")

    # 1. counts per rating and language
    ratings = {meme_id: rate_meme(text, template, language=lang or None) for meme_id, lang, text, template in rows}
    by_language: dict[str, Counter[str]] = {}
    for meme_id, lang, _, _ in rows:
        key = lang if lang in MAIN_LANGUAGES else "other"
        by_language.setdefault(key, Counter())[ratings[meme_id].level] += 1
    levels = ("g", "pg", "pg-13", "r", "blocked")
    table = ["| language | memes | " + " | ".join(levels) + " |", "|---|---|" + "---|" * len(levels)]
    for lang in (*MAIN_LANGUAGES, "other"):
        counts = by_language.get(lang, Counter())
        table.append(
            f"| {lang} | {sum(counts.values())} | " + " | ".join(str(counts[level]) for level in levels) + " |"
        )
    total = Counter(rating.level for rating in ratings.values())
    table.append(f"| all | {len(rows)} | " + " | ".join(str(total[level]) for level in levels) + " |")
    categories = Counter(rating.category for rating in ratings.values() if rating.level == "blocked")

    # 2. precision / recall of blocked on the hand-labelled sample
    labels = {row["meme_id"]: row["should_block"] == "1" for row in csv.DictReader(LABELS.open())}
    tp = sum(1 for i, block in labels.items() if block and ratings[i].level == "blocked")
    fp = sum(1 for i, block in labels.items() if not block and ratings[i].level == "blocked")
    fn = sum(1 for i, block in labels.items() if block and ratings[i].level != "blocked")
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)

    # 3. time per caption: the whole subset, uncached, against the previous filter
    captions = [(text, lang or "en") for _, lang, text, _ in rows]
    ai_like = [(" ".join(text.split()[:12]), lang) for text, lang in captions]  # AI captions are short

    def per_caption(func, items) -> float:  # type: ignore[no-untyped-def]
        text_caches_clear()  # the per-caption caches start empty (each run sees every caption once);
        # the per-word answers stay warm, as they are a few rows into an import
        started = time.perf_counter()
        for text, lang in items:
            func(text, lang)
        return (time.perf_counter() - started) / len(items) * 1e6

    timings: dict[str, list[float]] = {"rating": [], "rating_ai": [], "previous": []}
    for _ in range(args.runs):
        timings["rating"].append(per_caption(lambda t, lang: rate_meme(t, language=lang), captions))
        timings["rating_ai"].append(per_caption(lambda t, lang: rate_meme(t, "Courage Wolf", language=lang), ai_like))
        timings["previous"].append(per_caption(lambda t, lang: text_safety(t, language=lang), captions))
    progress(f"timings { ({k: round(median(v), 1) for k, v in timings.items()}) }")

    # 4. import rate: ratings against the previous filter in their place (same run, alternating)
    import memes.services.catalogue as catalogue
    from memes.models import Meme
    from memes.rating.engine import G_RATING, Rating

    def previous_rate_meme(*texts: str, language: str | None = None) -> Rating:
        for text in texts:
            safe, reason = text_safety(text, language=language) if text else (True, "")
            if not safe:
                return Rating("blocked", "previous", reason)
        return G_RATING

    def previous_rate_text(text: str, *, language: str | None = None) -> Rating:
        return previous_rate_meme(text, language=language)

    real = (catalogue.rate_meme, catalogue.rate_text)
    rates: dict[str, list[float]] = {"rating": [], "previous": []}
    for run in range(args.runs):
        for variant in ("rating", "previous") if run % 2 == 0 else ("previous", "rating"):
            Meme.objects.all().delete()
            catalogue.rate_meme, catalogue.rate_text = (
                real if variant == "rating" else (previous_rate_meme, previous_rate_text)
            )
            text_caches_clear()
            summary = catalogue.catalogue_import(path=SUBSET, languages_path=LANGUAGES, progress=False)
            rates[variant].append(summary.rows / summary.seconds)
    catalogue.rate_meme, catalogue.rate_text = real
    progress(f"import { ({k: round(median(v)) for k, v in rates.items()}) }")

    # 5. search throughput with the ceiling filter against none (same run, alternating)
    from memes.search.holder import index_holder
    from memes.selectors import meme_search
    from memes.text import words

    Meme.objects.all().delete()
    catalogue.catalogue_import(path=SUBSET, languages_path=LANGUAGES, progress=False)
    index_holder.reset()
    vocabulary = [w for _, lang, text, _ in rows if lang == "en" for w in words(text) if len(w) > 3]
    rng = random.Random(7)
    queries = [" ".join(rng.sample(vocabulary, rng.choice((1, 2)))) for _ in range(2000)]
    meme_search(query="warm up")
    qps: dict[str, list[float]] = {"pg-13": [], "none": []}
    for run in range(args.runs):
        for variant in ("pg-13", "none") if run % 2 == 0 else ("none", "pg-13"):
            started = time.perf_counter()
            for query in queries:
                meme_search(query=query, limit=1, rating="pg-13", include_unsafe=variant == "none")
            qps[variant].append(len(queries) / (time.perf_counter() - started))

    rating_us, ai_us, previous_us = (median(timings[k]) for k in ("rating", "rating_ai", "previous"))
    import_rating, import_previous = median(rates["rating"]), median(rates["previous"])
    qps_filter, qps_none = median(qps["pg-13"]), median(qps["none"])
    n = len(rows)
    cost_table = "\n".join(
        [
            f"| cost (median of {args.runs} runs) | ours | reference, same run | ratio |",
            "|---|---|---|---|",
            f"| rating one catalogue caption (all {n}, uncached) | {rating_us:.1f} µs "
            f"| previous safety filter {previous_us:.1f} µs | {rating_us / previous_us:.2f} |",
            f"| rating one AI-sized caption + template | {ai_us:.1f} µs | budget 500 µs | {ai_us / 500:.2f} |",
            f"| import of the subset (SQLite), rows/s | {import_rating:.0f} "
            f"| with the previous filter {import_previous:.0f} | {import_rating / import_previous:.2f} |",
            f"| in-process search, queries/s, pg-13 ceiling | {qps_filter:.0f} "
            f"| no rating filter {qps_none:.0f} | {qps_filter / qps_none:.2f} |",
        ]
    )
    body = f"""
Ratings of the LoC subset ({len(rows)} memes; caption and template name, as the import rates them):

{chr(10).join(table)}

Blocked by category: {", ".join(f"{c} {n}" for c, n in categories.most_common())}.

**Blocked, against our hand labels** (`bench/rating_labels.csv`: {len(labels)} memes, ids and labels only;
stratified: every meme the rules blocked when the sample was drawn, 60 rated r/pg-13 and 149 rated g/pg at
random, then labelled by reading each caption and template name; a "should block" label means a slur or
hate term, incitement to self-harm, a threat against a person or group, sexual content with minors,
personal data, or promotional spam): precision **{precision:.2f}** ({tp} of {tp + fp}), recall **{recall:.2f}**
({tp} of {tp + fn}). The sample also served to fix rules (see docs/safety.md), so these figures are
optimistic for unseen data; on the stratified sample, recall over-weights the blocked stratum.

{cost_table}
"""
    write_section("rating", "Content ratings (memes.rating)", "python bench/rating_eval.py", body)


if __name__ == "__main__":
    main()
