"""Evaluation and cost of content ratings (memes.rating) on the LoC subset in ../shared/data.

* counts per rating and language over the whole subset (caption + template name, as an import rates);
* precision and recall of ``blocked`` on the hand-labelled sample ``bench/rating_labels.csv`` (meme ids
  and our labels only: the captions stay in ../shared/data);
* rating time per caption (every caption of the subset, uncached) and per AI-sized caption, against the
  previous safety filter (``memes.safety.text_safety``) in the same run;
* import rate of the subset with ratings against the same import with the previous safety filter in
  their place (same run, alternating, median of runs), on a temporary SQLite database;
* in-process search throughput with the pg-13 ceiling filter against no rating filter (same run);
* the paid ``GET /api/memes`` over HTTP, this revision against the one before ratings were served
  (``bench/rating_http.py``: real servers on PostgreSQL, wrk; skipped with ``--no-http``).

Times are wall-clock and CPU time of this process (``time.process_time``): on a shared machine the
wall-clock of a CPU-bound loop grows with the load average, its CPU time much less; both are given,
with the load average. The ratios compare runs made side by side, alternating.

    .venv/bin/python bench/rating_eval.py [--runs N] [--no-http] [--http-runs N] [--http-seconds S]
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

from _report import LOC_LANGUAGES, LOC_SUBSET  # noqa: E402

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
    languages = {row[0]: row[1] for row in csv.reader(LOC_LANGUAGES.open(encoding="utf-8"))}
    rows = []
    for record in csv.DictReader(LOC_SUBSET.open(encoding="utf-8")):
        upper = "" if record["Upper Text"] == "-" else record["Upper Text"]
        lower = "" if record["Lower Text"] == "-" else record["Lower Text"]
        text = " ".join(part for part in (upper, lower) if part) or record["Alternate Text"]
        rows.append((record["Meme ID"], languages.get(record["Meme ID"], ""), text, record["Base Meme Name"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP comparison (needs PostgreSQL, wrk)")
    parser.add_argument("--http-runs", type=int, default=5)
    parser.add_argument("--http-seconds", type=int, default=10)
    parser.add_argument("--http-port", type=int, default=18700, help="first of the three servers' ports")
    parser.add_argument("--http-database-prefix", default="postgres://postgres@127.0.0.1:5432/maas_rating_http")
    parser.add_argument("--http-redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7"))
    args = parser.parse_args()
    load_start = os.getloadavg()
    if not LOC_SUBSET.exists():
        sys.exit(f"needs the LoC subset at {LOC_SUBSET}")
    setup_django()
    from _report import median, progress, write_section
    from rating_http import QUERIES

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

    def per_caption(func, items) -> tuple[float, float]:  # type: ignore[no-untyped-def]
        text_caches_clear()  # the per-caption caches start empty (each run sees every caption once);
        # the per-word answers stay warm, as they are a few rows into an import
        started, cpu = time.perf_counter(), time.process_time()
        for text, lang in items:
            func(text, lang)
        return (
            (time.perf_counter() - started) / len(items) * 1e6,
            (time.process_time() - cpu) / len(items) * 1e6,
        )

    from memes.rating.engine import _views

    def normalise(text: str, lang: str) -> None:
        _views(text)  # fold, split into words, the disguised forms: the floor under any rule matching

    timings: dict[str, list[float]] = {}
    cpu_timings: dict[str, list[float]] = {}
    for _ in range(args.runs):
        for name, func, items in (
            ("rating", lambda t, lang: rate_meme(t, language=lang), captions),
            ("rating_ai", lambda t, lang: rate_meme(t, "Courage Wolf", language=lang), ai_like),
            ("previous", lambda t, lang: text_safety(t, language=lang), captions),
            ("normalise", normalise, captions),
        ):
            wall, cpu = per_caption(func, items)
            timings.setdefault(name, []).append(wall)
            cpu_timings.setdefault(name, []).append(cpu)
    progress(f"timings { ({k: round(median(v), 1) for k, v in timings.items()}) }")
    progress(f"cpu timings { ({k: round(median(v), 1) for k, v in cpu_timings.items()}) }")

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
    cpu_rates: dict[str, list[float]] = {"rating": [], "previous": []}
    for run in range(args.runs):
        for variant in ("rating", "previous") if run % 2 == 0 else ("previous", "rating"):
            Meme.objects.all().delete()
            catalogue.rate_meme, catalogue.rate_text = (
                real if variant == "rating" else (previous_rate_meme, previous_rate_text)
            )
            text_caches_clear()
            cpu = time.process_time()
            summary = catalogue.catalogue_import(path=LOC_SUBSET, languages_path=LOC_LANGUAGES, progress=False)
            cpu_rates[variant].append(summary.rows / (time.process_time() - cpu))
            rates[variant].append(summary.rows / summary.seconds)
    catalogue.rate_meme, catalogue.rate_text = real
    progress(f"import { ({k: round(median(v)) for k, v in rates.items()}) }")
    progress(f"import, CPU { ({k: round(median(v)) for k, v in cpu_rates.items()}) }")

    # 5. search throughput with the ceiling filter against none (same run, alternating)
    from memes.search.holder import index_holder
    from memes.selectors import meme_search
    from memes.text import words

    Meme.objects.all().delete()
    catalogue.catalogue_import(path=LOC_SUBSET, languages_path=LOC_LANGUAGES, progress=False)
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

    load_end = os.getloadavg()

    # 6. the paid call over HTTP, this revision against the one before ratings were served
    http: dict | None = None  # type: ignore[type-arg]
    if not args.no_http:
        from rating_http import measure

        http = measure(
            runs=args.http_runs,
            seconds=args.http_seconds,
            port=args.http_port,
            database_prefix=args.http_database_prefix,
            redis_url=args.http_redis_url,
        )

    def us(name: str) -> str:
        return f"{median(timings[name]):.1f} µs (CPU {median(cpu_timings[name]):.1f})"

    def ratio(numerator: str, denominator: str, source: dict[str, list[float]]) -> float:
        return median(source[numerator]) / median(source[denominator])

    def paired(source: dict[str, list[float]]) -> float:
        """The median of the per-run ratios: each run imports with both, one right after the other."""
        return median([r / p for r, p in zip(source["rating"], source["previous"], strict=True)])

    qps_filter, qps_none = median(qps["pg-13"]), median(qps["none"])
    n = len(rows)
    rows_out = [
        f"| cost (median of {args.runs} runs) | ours | reference, same run | ratio (wall; CPU) |",
        "|---|---|---|---|",
        f"| rating one catalogue caption (all {n}, uncached) | {us('rating')} "
        f"| previous safety filter {us('previous')} "
        f"| {ratio('rating', 'previous', timings):.2f}; {ratio('rating', 'previous', cpu_timings):.2f} |",
        f"| rating one AI-sized caption + template | {us('rating_ai')} | budget 500 µs "
        f"| {median(timings['rating_ai']) / 500:.2f}; {median(cpu_timings['rating_ai']) / 500:.2f} |",
        f"| of which normalising (fold, words, disguised forms; no rule) | {us('normalise')} | the caption's rating "
        f"| {ratio('normalise', 'rating', timings):.2f}; {ratio('normalise', 'rating', cpu_timings):.2f} |",
        f"| import of the subset (SQLite), rows/s (CPU: rows per CPU second) | {median(rates['rating']):.0f} "
        f"(CPU {median(cpu_rates['rating']):.0f}) | with the previous filter {median(rates['previous']):.0f} "
        f"(CPU {median(cpu_rates['previous']):.0f}) "
        f"| {ratio('rating', 'previous', rates):.2f}; {ratio('rating', 'previous', cpu_rates):.2f} "
        f"(paired per run: {paired(rates):.2f}; {paired(cpu_rates):.2f}) |",
        f"| in-process search, queries/s, pg-13 ceiling | {qps_filter:.0f} "
        f"| no rating filter {qps_none:.0f} | {qps_filter / qps_none:.2f} |",
    ]
    http_text = "The HTTP comparison was skipped (`--no-http`)."
    if http is not None:
        before, *others = http["variants"]
        for other in others:
            label = "this revision" if other["name"] == "this" else f"ratings landed ({other['revision']})"
            rows_out.append(
                f"| paid `GET /api/memes` over HTTP, req/s, {label} "
                f"| {other['rps']:.0f} (p99 {other['p99_ms']:.0f} ms) "
                f"| before ratings ({before['revision']}) {before['rps']:.0f} (p99 {before['p99_ms']:.0f} ms) "
                f"| {other['ratio']:.2f} (paired, per round: {other['paired_ratio']:.2f}) |"
            )
        errors = sum(v["errors"] for v in http["variants"])
        http_text = (
            f"Paid `GET /api/memes` over HTTP (`bench/rating_http.py`): `deploy/serve` per revision, each on its "
            f"own PostgreSQL database with the LoC subset imported by its own code ({before['memes']} memes), "
            f"`wrk -t2 -c50` over 1,000 paying clients, queries {', '.join(QUERIES)} (default ceiling pg-13); "
            f"{http['runs']} runs of {http['seconds']} s per revision, round-robin, medians (and the median of "
            f"the per-round ratios, which pairs runs a minute apart); {errors} errors or non-2xx. Requests/s "
            f"per run: "
            + "; ".join(f"{v['name']} " + ", ".join(f"{x:.0f}" for x in v["all_rps"]) for v in http["variants"])
            + f". The reference is the revision before ratings were served (the first parent of the merge "
            f"that brought the ceiling into serving), not this server with ratings switched off: there is no "
            f"such switch. before -> landed (that merge, run with the empty accounts merge migration it "
            f"lacked) is what ratings, reports and moderation cost the paid call; landed -> this revision adds "
            f"everything merged since (rel, ops, portal, dr, images). On a machine this loaded, one 10 s run "
            f"swings by 2x: only a ratio far from 1 in both columns would say something. Load average "
            f"{http['load'][0]:.1f} at the end."
        )
    cost_table = "\n".join(rows_out)
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

Load average (1 min) {load_start[0]:.1f} at the start, {load_end[0]:.1f} after the in-process part. Import
rows/s per run, wall: rating {", ".join(f"{x:.0f}" for x in rates["rating"])}; previous filter
{", ".join(f"{x:.0f}" for x in rates["previous"])}.

{cost_table}

{http_text}
"""
    write_section("rating", "Content ratings (memes.rating)", "python bench/rating_eval.py", body)


if __name__ == "__main__":
    main()
