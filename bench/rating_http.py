"""Paid ``GET /api/memes`` over HTTP: this revision against the revision before content ratings landed.

Ratings cost nothing at serving time by design (a meme's rating is computed at import; a request
compares a column with the ceiling), so "throughput unchanged" is checked end to end: a real server
(``deploy/serve``, as the image runs it) per revision, each on its own PostgreSQL database holding the
same LoC subset, each migrated and filled by its own code, on one Redis (key prefixes of their own).
``wrk -t2 -c50`` over 1,000 paying clients in turn; the runs go round-robin (one revision later each
round) so that a noisy minute on the shared machine lands on every revision; medians.

Revisions: ``landed`` is the first-parent commit that brought ratings into serving (the merge whose
change to ``memes/services/serving.py`` adds the ceiling, ``DEFAULT_CEILING``), ``before`` its first
parent, ``this`` the working tree. ``landed`` cannot migrate as committed (two accounts migrations
were leaves; a later commit merged them with an empty merge migration), so it runs with the merge
migrations of this checkout that it lacks and whose dependencies it has: no operation, only the
graph. before -> landed is what ratings (with reports and moderation) cost; landed -> this is what
everything merged since costs. The earlier revisions are exported with ``git archive`` into a
temporary directory (the repository is not touched) and run with this checkout's virtualenv. Each
revision's database is dropped and made again at the start.

    .venv/bin/python bench/rating_http.py [--runs 5] [--seconds 10] [--port 18700]
        [--database-prefix postgres://postgres@127.0.0.1:5432/maas_rating_http] [--redis-url ...]

``bench/rating_eval.py`` runs it (unless ``--no-http``) and puts the ratio in its section of
docs/benchmarks.md; on its own it prints the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _report import LOC_LANGUAGES, LOC_SUBSET, median, progress, stop_process, wait_until_serving  # noqa: E402

QUERIES = ("cat", "dog", "monday", "coffee")
SPREAD_TOKENS = 400  # per client: 1,000 clients cover ~400,000 paid calls

# Run inside each revision's directory, with its own code: migrate, import the subset, make the
# 1,000 paying clients (bench/billing_bench.py's _prepare, the same in every revision measured).
SETUP = r"""
import sys
sys.path.insert(0, "bench")
from billing_bench import _prepare, _setup_django
_setup_django(sys.argv[1], sys.argv[2])
from django.core.management import call_command
call_command("migrate", verbosity=0)
from memes.models import Meme
if not Meme.objects.exists():
    call_command("import_memes", sys.argv[3], "--languages", sys.argv[4], verbosity=0)
keys, _, _ = _prepare("memes", hot_tokens=1000, spread_tokens=int(sys.argv[6]))
open(sys.argv[5], "w").write("\n".join(keys) + "\n")
print(Meme.objects.count())
"""


@dataclass
class Variant:
    name: str
    revision: str  # a commit, or "working tree"
    source: Path
    database_url: str
    keys: Path
    port: int
    memes: int = 0
    rps: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    non2xx: int = 0


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def revisions() -> tuple[str, str]:
    """(before, landed): the first-parent commit that brought the rating ceiling into serving, and its
    first parent."""
    landed = _git(
        "log", "--first-parent", "--reverse", "--format=%H", "-G", "DEFAULT_CEILING", "--", "memes/services/serving.py"
    ).splitlines()[0]
    return _git("rev-parse", "--short", f"{landed}^1"), _git("rev-parse", "--short", landed)


def _export(revision: str, work: Path) -> Path:
    target = work / revision
    target.mkdir()
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def _with_merge_migrations(target: Path) -> Path:
    """Add this checkout's merge migrations (``operations = []``) that ``target`` lacks and can use."""
    for path in ROOT.glob("*/migrations/*_merge_*.py"):
        relative, source = path.relative_to(ROOT), path.read_text()
        if (target / relative).exists() or not re.search(r"operations\s*=\s*\[\s*\]", source):
            continue
        dependencies = re.findall(r"\(\s*['\"](\w+)['\"]\s*,\s*['\"](\w+)['\"]\s*\)", source.split("operations")[0])
        if all((target / dep_app / "migrations" / f"{name}.py").exists() for dep_app, name in dependencies):
            (target / relative).write_text(source)
            progress(f"{target.name}: added {relative} (an empty merge migration)")
    return target


def _env(variant: Variant, redis_url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "DJANGO_SETTINGS_MODULE")},
        "DATABASE_URL": variant.database_url,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": f"maas-rating-http-{variant.name}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "THROTTLE_CLIENT": "100000000/min",  # measure serving, not the limiter's refusals
        "DB_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "0",
        "MAAS_VAR_DIR": str(variant.keys.parent / f"var-{variant.name}"),
    }


def _recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _setup(variant: Variant, redis_url: str) -> None:
    progress(f"{variant.name} ({variant.revision}): migrate, import, clients")
    output = subprocess.run(
        [
            sys.executable, "-c", SETUP, variant.database_url, redis_url, str(LOC_SUBSET), str(LOC_LANGUAGES),
            str(variant.keys), str(SPREAD_TOKENS),
        ],
        cwd=variant.source, env=_env(variant, redis_url), capture_output=True, text=True,
    )  # fmt: skip
    if output.returncode != 0:
        raise RuntimeError(f"setup of {variant.name} failed:\n{output.stderr[-3000:]}")
    variant.memes = int(output.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def _server(variant: Variant, redis_url: str, work: Path) -> Iterator[None]:
    env = {**_env(variant, redis_url), "HOST": "127.0.0.1", "PORT": str(variant.port), "WEB_DRAIN_SECONDS": "0"}
    with (work / f"serve-{variant.name}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, str(variant.source / "deploy" / "serve")],
            cwd=variant.source, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        log_path = work / f"serve-{variant.name}.log"
        wait_until_serving(process, variant.port, what=f"{variant.name}'s server", seconds=90, log=log_path)
        progress(f"{variant.name}: serving on port {variant.port} (pid {process.pid})")
        yield
    finally:
        stop_process(process)


def _wrk(variant: Variant, lua: Path, seconds: int) -> dict:
    from billing_bench import CONNECTIONS

    env = {
        **os.environ,
        "BENCH_PATHS": "|".join(f"/api/memes?query={q}" for q in QUERIES),
        "BENCH_KEYS": str(variant.keys),
        "BENCH_COUNT_STATUS": "0",
    }
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s", "-s", str(lua)]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{variant.port}/"], env=env, capture_output=True, text=True,
        timeout=seconds + 60,
    ).stdout  # fmt: skip
    line = next((x for x in output.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def _check_paid(variant: Variant) -> None:
    """One call by hand: a 200 with memes, each carrying a rating in this revision."""
    key = variant.keys.read_text().split()[0]
    request = urllib.request.Request(f"http://127.0.0.1:{variant.port}/api/memes?query=cat", headers={"X-Token": key})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    progress(f"{variant.name}: GET /api/memes?query=cat -> {json.dumps(body)[:300]}")


def measure(
    *, runs: int = 5, seconds: int = 10, port: int = 18700, database_prefix: str, redis_url: str
) -> dict[str, object]:
    """Median requests/s of the paid call per revision (same run); see the module docstring."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is needed (apt-get install wrk)")
    from billing_bench import LUA

    before, landed = revisions()
    work = Path(tempfile.mkdtemp(prefix="maas-rating-http-"))
    lua = work / "bench.lua"
    lua.write_text(LUA)
    sources = {
        "before": (before, _export(before, work)),
        "landed": (landed, _with_merge_migrations(_export(landed, work))),
        "this": ("working tree", ROOT),
    }
    variants = [
        Variant(name, revision, source, f"{database_prefix}_{name}", work / f"keys-{name}.txt", port + i)
        for i, (name, (revision, source)) in enumerate(sources.items())
    ]
    for variant in variants:
        _recreate_database(variant.database_url)
        _setup(variant, redis_url)
    try:
        with contextlib.ExitStack() as stack:
            for variant in variants:
                stack.enter_context(_server(variant, redis_url, work))
            for variant in variants:
                _check_paid(variant)
                _wrk(variant, lua, 3)  # warm: imports, connections, the key cache, the search index
            for run in range(runs):
                shift = run % len(variants)
                for variant in variants[shift:] + variants[:shift]:
                    result = _wrk(variant, lua, seconds)
                    variant.rps.append(result["rps"])
                    variant.p99_ms.append(result["p99_us"] / 1000)
                    variant.non2xx += result["non2xx"] + result["socket_errors"]
                    progress(f"run {run + 1}/{runs} {variant.name}: {result['rps']:.0f} req/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    reference = median(variants[0].rps)
    # Each round measures every revision within a minute: the ratio within a round is paired, and its
    # median shrugs off a round that a neighbour's burst of work slowed down.
    paired = {v.name: median([x / r for x, r in zip(v.rps, variants[0].rps, strict=True)]) for v in variants}
    return {
        "runs": runs,
        "seconds": seconds,
        "load": os.getloadavg(),
        "variants": [
            {
                "name": v.name,
                "revision": v.revision,
                "memes": v.memes,
                "rps": median(v.rps),
                "p99_ms": median(v.p99_ms),
                "errors": v.non2xx,
                "ratio": median(v.rps) / reference,
                "paired_ratio": paired[v.name],
                "all_rps": v.rps,
            }
            for v in variants
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--port", type=int, default=18700, help="first of three ports")
    parser.add_argument(
        "--database-prefix", default="postgres://postgres@127.0.0.1:5432/maas_rating_http",
        help="each revision gets <prefix>_before, _landed, _this",
    )  # fmt: skip
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7"))
    args = parser.parse_args()
    figures = measure(
        runs=args.runs, seconds=args.seconds, port=args.port, database_prefix=args.database_prefix,
        redis_url=args.redis_url,
    )  # fmt: skip
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
