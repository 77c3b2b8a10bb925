# ruff: noqa: E402  (Django is configured from the command line before the app is imported)
"""Benchmark: catalogue import and meme search at 100,000 memes.

1. Builds a synthetic catalogue in the LoC 2019 format (bench/out/, git-ignored) by recombining the
   real subset's templates, upper and lower texts within each language (../shared/data; the script
   stops with a message when it is absent), plus its language file.
2. Imports it into a throwaway database (``--database-url postgres://.../maas_..._bench``; default a
   temporary SQLite file) with ``catalogue_import``: wall time, rows/s.
3. In process, one thread: builds the search index, then runs a fixed list of 200 queries (single
   words, phrases, typos, prefixes; seeded) in exact and in fuzzy mode: p50/p99 per run, median of
   the runs. Reference in the same run: the cost of the ``words()`` normalisation alone.
4. HTTP: ``GET /api/memes`` (rotating over the queries) under the production server (``deploy/serve``,
   port 8101) and gunicorn (4 sync workers, port 8102), driven by ``wrk -t2 -c50`` on 127.0.0.1;
   reference: ``GET /api/health`` on the same server, same run -> ratio.

    .venv/bin/python bench/search_bench.py [--quick] [--rows N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SHARED = ROOT.parent / "shared" / "data"
SUBSET = SHARED / "loc_memegenerator_subset.csv"
LANGUAGES = SHARED / "loc_memegenerator_language.csv"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _report import median, percentile, progress, serve_command, serve_description, stop_process, write_section

from memes.loc_format import COLUMNS_2019

SERVE_PORT, GUNICORN_PORT = 8101, 8102
FIRST_ID = 200_000_001
QUERY_SEED = 2024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="30k memes, 3 runs, 3 s HTTP runs")
    parser.add_argument("--rows", type=int, help="synthetic catalogue size (default 100000; quick 30000)")
    parser.add_argument("--runs", type=int, help="query-list runs (default 5; quick 3)")
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 10; quick 3)")
    parser.add_argument(
        "--database-url",
        default="",
        help="throwaway PostgreSQL database (its name must contain 'bench': it is dropped and re-created)",
    )
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP part")
    args = parser.parse_args()
    args.rows = args.rows or (30_000 if args.quick else 100_000)
    args.runs = args.runs or (3 if args.quick else 5)
    args.duration = args.duration or (3 if args.quick else 10)
    return args


# --- 1. synthetic catalogue ------------------------------------------------------------------


def synthetic_catalogue(rows: int) -> tuple[Path, Path, dict[str, list[tuple[str, str, str]]]]:
    """Write (or reuse) bench/out/synthetic_<rows>.csv and its language file; return the source parts."""
    with SUBSET.open(encoding="utf-8", newline="") as handle:
        subset = list(csv.DictReader(handle))
    with LANGUAGES.open(encoding="utf-8", newline="") as handle:
        language_of = {row["Meme ID"]: row["Language"] for row in csv.DictReader(handle)}
    parts: dict[str, list[tuple[str, str, str]]] = {}
    for row in subset:
        if row["Base Meme Name"] in ("", "-"):
            continue
        upper = "" if row["Upper Text"] == "-" else row["Upper Text"].strip()
        lower = "" if row["Lower Text"] == "-" else row["Lower Text"].strip()
        if not (upper or lower):
            alternate = "" if row["Alternate Text"] == "-" else row["Alternate Text"].strip()
            upper, lower = alternate, ""
        if upper or lower:
            parts.setdefault(language_of.get(row["Meme ID"], "en"), []).append((row["Base Meme Name"], upper, lower))
    OUT.mkdir(parents=True, exist_ok=True)
    memes_path, languages_path = OUT / f"synthetic_{rows}.csv", OUT / f"synthetic_{rows}_languages.csv"
    if memes_path.exists() and languages_path.exists():
        return memes_path, languages_path, parts
    progress(f"writing {rows} synthetic memes to {memes_path}")
    rng = random.Random(rows)
    languages = sorted(parts)
    weights = [len(parts[language]) for language in languages]
    columns = list(COLUMNS_2019)
    with (
        memes_path.open("w", encoding="utf-8", newline="") as memes_file,
        languages_path.open("w", encoding="utf-8", newline="") as languages_file,
    ):
        memes_writer, languages_writer = csv.writer(memes_file), csv.writer(languages_file)
        memes_writer.writerow(columns)
        languages_writer.writerow(["Meme ID", "Language"])
        for offset in range(rows):
            meme_id = FIRST_ID + offset
            language = rng.choices(languages, weights)[0]
            pool = parts[language]
            template = rng.choice(pool)[0]
            upper, lower = rng.choice(pool)[1], rng.choice(pool)[2]
            image = f"http://webarchive.loc.gov/all/0/http://cdn.meme.am/instances/250x250/{meme_id}.jpg"
            memes_writer.writerow(
                [
                    meme_id,
                    image,
                    template,
                    f"http://memegenerator.net/instance/{meme_id}",
                    hashlib.md5(str(meme_id).encode()).hexdigest(),
                    rng.randint(20_000, 90_000),
                    " ".join(part for part in (upper, lower) if part) or "-",
                    template,
                    upper or "-",
                    lower or "-",
                ]
            )
            languages_writer.writerow([meme_id, language])
    return memes_path, languages_path, parts


def query_list(parts: dict[str, list[tuple[str, str, str]]]) -> list[dict[str, str]]:
    """200 fixed queries: 80 words, 50 phrases, 40 one-typo words, 30 prefixes; en/es/ru mostly."""
    rng = random.Random(QUERY_SEED)
    word_re = re.compile(r"[^\W\d_]{4,}")
    languages = ["en"] * 5 + ["es"] * 2 + ["ru"] * 2 + ["pt"]
    queries: list[dict[str, str]] = []

    def caption(language: str) -> list[str]:
        while True:
            _template, upper, lower = rng.choice(parts[language])
            found = word_re.findall(f"{upper} {lower}".lower())
            if found:
                return found

    def typo(word: str) -> str:
        position = rng.randrange(1, len(word) - 1)
        kind = rng.choice(["drop", "swap", "double"])
        if kind == "drop":
            return word[:position] + word[position + 1 :]
        if kind == "swap":
            return word[: position - 1] + word[position] + word[position - 1] + word[position + 1 :]
        return word[:position] + word[position] + word[position:]

    while len(queries) < 200:
        language = rng.choice(languages)
        found = caption(language)
        index = len(queries)
        if index < 80:
            queries.append({"kind": "word", "lang": language, "query": rng.choice(found), "original": ""})
        elif index < 130:
            if len(found) < 2:
                continue
            start = rng.randrange(len(found) - 1)
            phrase = " ".join(found[start : start + rng.choice([2, 3])])
            queries.append({"kind": "phrase", "lang": language, "query": phrase, "original": ""})
        elif index < 170:
            word = max(found, key=len)
            if len(word) < 5:
                continue
            queries.append({"kind": "typo", "lang": language, "query": typo(word), "original": word})
        else:
            word = max(found, key=len)
            if len(word) < 6:
                continue
            queries.append({"kind": "prefix", "lang": language, "query": word[: rng.randint(4, 5)], "original": word})
    return queries


# --- 2. database ----------------------------------------------------------------------------


def prepare_database(url: str, var_dir: Path) -> str:
    """The DATABASE_URL to use: a fresh PostgreSQL database named in ``url``, or a temporary SQLite file."""
    if not url:
        return f"sqlite:///{var_dir / 'bench.sqlite3'}"
    parsed = urllib.parse.urlparse(url)
    name = parsed.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to drop database {name!r}: give a throwaway database whose name contains 'bench'")
    import psycopg

    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return url


def configure_django(database_url: str, var_dir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "MAAS_VAR_DIR": str(var_dir),
            "LOG_LEVEL": "WARNING",
        }
    )
    for name in ("REDIS_URL", "BROKER_URL"):  # the embedded default: nothing else is measured here
        os.environ.pop(name, None)
    import django

    django.setup()


# --- 3. in-process search -------------------------------------------------------------------


def measure_search(queries: list[dict[str, str]], runs: int) -> dict[str, object]:
    from memes.search.holder import index_holder
    from memes.selectors import meme_search
    from memes.text import words

    started = time.perf_counter()
    index = index_holder.get()
    build_seconds = time.perf_counter() - started
    results: dict[str, object] = {"index_seconds": build_seconds, "indexed": index.size}
    for mode in ("exact", "fuzzy"):
        p50s, p99s, found = [], [], 0
        for _ in range(runs):
            timings = []
            for q in queries:
                started = time.perf_counter()
                hits = meme_search(query=q["query"], fuzzy=mode == "fuzzy", limit=1, lang=q["lang"])
                timings.append(time.perf_counter() - started)
                found += bool(hits)
            p50s.append(percentile(timings, 50) * 1000)
            p99s.append(percentile(timings, 99) * 1000)
        results[mode] = {"p50": median(p50s), "p99": median(p99s), "hit_rate": found / (runs * len(queries))}
    # Quality: a typo or a prefix should bring back a meme containing the intended word.
    good = total = 0
    for q in queries:
        if q["original"]:
            total += 1
            hits = meme_search(query=q["query"], fuzzy=True, limit=1, lang=q["lang"])
            good += bool(hits) and q["original"] in " ".join(words(hits[0].text + " " + hits[0].template))
    results["typo_recall"] = good / total if total else float("nan")
    # Reference, same run: the same fuzzy scoring without the trigram prefilter, i.e. rapidfuzz over
    # every caption of the language (what "over the whole catalogue" costs when done naively).
    from rapidfuzz import fuzz, process

    timings = []
    for q in queries[:: max(1, len(queries) // (10 if runs < 5 else 20))]:
        partition = index.partitions.get(q["lang"])
        if partition is None:
            continue
        started = time.perf_counter()
        # cdist scores every caption (extractOne would stop at the first perfect score).
        process.cdist([" ".join(words(q["query"]))], partition.caption_texts, scorer=fuzz.partial_ratio, workers=1)
        timings.append(time.perf_counter() - started)
    results["brute_p50"] = percentile(timings, 50) * 1000
    results["brute_p99"] = percentile(timings, 99) * 1000
    return results


# --- 4. HTTP --------------------------------------------------------------------------------


def wait_until_up(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RuntimeError(f"server did not answer {url} within {timeout:.0f} s")


def warm_up(base: str, paths: list[str], workers: int) -> None:
    """Until each worker has built its index: a few concurrent rounds of requests, bounded in time."""
    deadline = time.monotonic() + 180
    fast_rounds = 0
    while fast_rounds < 3 and time.monotonic() < deadline:
        procs = [
            subprocess.Popen(
                [
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{time_total}",
                    "--max-time",
                    "60",
                    "-H",
                    f"X-Token: {API_KEY[0]}",
                    base + paths[i % len(paths)],
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(workers * 4)
        ]
        slowest = max(float(p.communicate()[0] or 60) for p in procs)
        fast_rounds = fast_rounds + 1 if slowest < 0.2 else 0


def run_wrk(url: str, duration: int, script: Path | None = None) -> dict[str, float]:
    command = ["wrk", "-t2", "-c50", f"-d{duration}s", "--latency", "--timeout", "5s"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, timeout=duration + 30, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]

    def latency(pct: str) -> float:
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)", output, re.M)
        if not match:
            return float("nan")
        return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]

    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    requests = re.search(r"(\d+) requests in", output)
    return {
        "rps": rps,
        "p50": latency("50"),
        "p99": latency("99"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "requests": int(requests.group(1)) if requests else 0,
    }


def lua_script(paths: list[str], name: str) -> Path:
    script = OUT / f"{name}.lua"
    quoted = ",\n".join(json.dumps(path) for path in paths)
    script.write_text(
        "-- rotate over a fixed list of search paths (written by bench/search_bench.py)\n"
        f"local paths = {{\n{quoted}\n}}\n"
        "local i = 0\n"
        f'local headers = {{["X-Token"] = {json.dumps(API_KEY[0])}}}\n'
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i], headers)\nend\n"
    )
    return script


def measure_http(server: str, env: dict[str, str], queries: list[dict[str, str]], duration: int) -> dict[str, object]:
    venv = ROOT / ".venv" / "bin"
    if server == "serve":
        port, workers = SERVE_PORT, 2
        command, extra = serve_command(port=port, WEB_WORKERS=workers)
        env = {**env, **extra}
    else:
        port, workers = GUNICORN_PORT, 4
        command = [
            str(venv / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--worker-class", "sync", "--timeout", "120", "--log-level", "warning",
        ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    exact_paths = [
        "/api/memes?" + urllib.parse.urlencode({"query": q["query"], "lang": q["lang"]})
        for q in queries
        if q["kind"] in ("word", "phrase")
    ]
    fuzzy_paths = [
        "/api/memes?" + urllib.parse.urlencode({"query": q["query"], "lang": q["lang"], "fuzzy": "true"})
        for q in queries
    ]
    log = (OUT / f"{server}.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up(base + "/api/health", 60)
        progress(f"{server}: warming up {workers} workers (each builds its index)")
        warm_up(base, exact_paths, workers)
        results: dict[str, object] = {}
        # The reference goes through the same wrk Lua rotation, so that the load generator's own cost
        # (it shares the two cores) is the same in both runs; /api/health ignores the query string.
        health_paths = [path.replace("/api/memes?", "/api/health?") for path in exact_paths]
        for name, url, script in (
            ("health", base + "/api/health", lua_script(health_paths, "health")),
            ("exact", base + "/api/memes", lua_script(exact_paths, "exact")),
            ("fuzzy", base + "/api/memes", lua_script(fuzzy_paths, "fuzzy")),
        ):
            progress(f"{server}: wrk {name} for {duration} s")
            results[name] = run_wrk(url, duration, script)
        return results
    finally:
        stop_process(process)
        log.close()


# --- report ---------------------------------------------------------------------------------


API_KEY = [""]  # the bench client's key, set once the database is ready


def bench_client_key() -> str:
    """A client with enough tokens for every paid search of the HTTP runs; returns its API key."""
    from accounts.services import api_key_create, client_create
    from billing.services import account_credit

    client = client_create(name=f"search-bench-{time.time_ns()}")
    account_credit(client_id=client.pk, amount=100_000_000, reason="search benchmark", actor="bench")
    return api_key_create(client=client, name="bench")[1]


def main() -> None:
    args = parse_args()
    if not SUBSET.exists():
        print(f"search_bench: {SUBSET} is absent; the synthetic catalogue is built from it. Nothing measured.")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="var-", dir=OUT))
    try:
        memes_path, languages_path, parts = synthetic_catalogue(args.rows)
        queries = query_list(parts)
        database_url = prepare_database(args.database_url, var_dir)
        configure_django(database_url, var_dir)
        from django.core.management import call_command

        from memes.services import catalogue_import

        progress("migrating the throwaway database")
        call_command("migrate", verbosity=0)
        progress(f"importing {args.rows} memes")
        started = time.perf_counter()
        summary = catalogue_import(path=memes_path, languages_path=languages_path, progress=True)
        import_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = catalogue_import(path=memes_path, languages_path=languages_path, progress=False)
        reimport_seconds = time.perf_counter() - started
        progress(f"import {summary}; re-import {again}")

        API_KEY[0] = bench_client_key()
        progress("in-process search")
        search = measure_search(queries, args.runs)

        http: dict[str, dict[str, object]] = {}
        if not args.no_http:
            from django.db import connections

            connections.close_all()
            # GET /api/memes is a paid call: the bench client has the tokens, and no throttle applies.
            env = {**os.environ, "DB_CONN_MAX_AGE": "60", "THROTTLE_CLIENT": "100000000/min"}
            for server in ("serve", "gunicorn"):
                http[server] = measure_http(server, env, queries, args.duration)
        report(args, summary, import_seconds, again, reimport_seconds, search, http, database_url)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def report(args, summary, import_seconds, again, reimport_seconds, search, http, database_url) -> None:  # type: ignore[no-untyped-def]
    database = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    rows = summary.imported + summary.updated + summary.unchanged + summary.skipped
    lines = [
        f"Synthetic catalogue: {args.rows:,} memes recombined from the real LoC subset (templates, upper and "
        f"lower texts within a language), with its language file; {search['indexed']:,} distinct memes indexed.",
        "",
        "| import | figure |",
        "|---|---|",
        f"| first import into {database} | {import_seconds:.1f} s ({rows / import_seconds:,.0f} rows/s), "
        f"imported {summary.imported:,}, skipped {summary.skipped:,} (target ≤ 30 s per 100k) |",
        f"| re-import of the same file (idempotent) | {reimport_seconds:.1f} s, unchanged {again.unchanged:,} |",
        f"| search index build (one process) | {search['index_seconds']:.1f} s |",
        "",
        f"In-process search, one thread, 200 fixed queries (80 words, 50 phrases, 40 one-typo words, 30 prefixes), "
        f"limit 1; median of {args.runs} runs:",
        "",
        "| mode | p50 ms | p99 ms | queries with a hit |",
        "|---|---|---|---|",
    ]
    for mode in ("exact", "fuzzy"):
        figures = search[mode]
        lines.append(
            f"| {mode} | {figures['p50']:.2f} | {figures['p99']:.2f} | {figures['hit_rate']:.0%} |"  # type: ignore[index]
        )
    lines += [
        f"| reference: fuzzy scoring of every caption of the language, no prefilter | {search['brute_p50']:.1f} | "
        f"{search['brute_p99']:.1f} | |",
        "",
        f"Prefilter speed-up (reference p50 / fuzzy p50): {search['brute_p50'] / search['fuzzy']['p50']:.0f}x.",  # type: ignore[index]
        "",
        f"Fuzzy quality: {search['typo_recall']:.0%} of the typo and prefix queries bring back, first, a meme "
        "containing the intended word. Target: fuzzy p99 ≤ 10 ms at 100k memes.",
    ]
    if http:
        lines += [
            "",
            f"HTTP, `wrk -t2 -c50 -d{args.duration}s` on 127.0.0.1 (load generator on the same 2 cores), "
            "the paid `GET /api/memes` (API key, 1 token a meme, charged in the database) "
            "rotating over the queries (exact: the words and phrases; fuzzy: all 200), "
            "reference `GET /api/health` on the same server in the same run:",
            "",
            "| server | endpoint | req/s | p50 ms | p99 ms | non-2xx | vs health |",
            "|---|---|---|---|---|---|---|",
        ]
        for server, label in (
            ("serve", serve_description()),
            ("gunicorn", "gunicorn, 4 sync workers"),
        ):
            figures = http.get(server)
            if not figures:
                continue
            reference = figures["health"]["rps"]  # type: ignore[index]
            for endpoint in ("health", "exact", "fuzzy"):
                f = figures[endpoint]  # type: ignore[index]
                lines.append(
                    f"| {label} | {endpoint} | {f['rps']:,.0f} | {f['p50']:.1f} | {f['p99']:.1f} | "
                    f"{f['non_2xx']:,} | {f['rps'] / reference:.2f} |"
                )
        lines += ["", "Non-2xx are `404 no_match` answers (a typo query in a language with no similar meme)."]
    command = "python bench/search_bench.py" + (" --quick" if args.quick else "")
    if args.database_url:
        command += " --database-url postgres://…/maas_search_bench"
    write_section("search", f"Meme search and import ({args.rows:,} memes)", command, "\n".join(lines))


if __name__ == "__main__":
    main()
