"""The two real catalogues: the bundled sample (always) and the LoC subset in ../shared/data (when present)."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter

import pytest
from django.core.management import call_command

from memes.models import Meme
from memes.sample import make_sample
from memes.selectors import meme_search
from memes.services import catalogue_import
from tests.memes.loc_files import SHARED_DATA

pytestmark = pytest.mark.django_db

SAMPLE = make_sample.HERE / "sample_memes.csv"
SAMPLE_LANGUAGES = make_sample.HERE / "sample_languages.csv"
SUBSET = SHARED_DATA / "loc_memegenerator_subset.csv"
LANGUAGES = SHARED_DATA / "loc_memegenerator_language.csv"


def test_the_bundled_sample_is_what_its_generator_writes():
    rows = make_sample.build(random.Random(20240601))
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        on_disk = list(csv.reader(handle))
    assert on_disk[0] == make_sample.COLUMNS
    assert on_disk[1:] == [row for row, _ in rows]
    assert SAMPLE.stat().st_size < 100_000


def test_the_bundled_sample_imports_cleanly_like_make_run_does():
    out = io.StringIO()
    call_command("import_memes", str(SAMPLE), "--languages", str(SAMPLE_LANGUAGES), "--no-progress", stdout=out)
    assert "skipped 0" in out.getvalue()

    languages = Counter(Meme.objects.values_list("language", flat=True))
    assert languages["en"] > 300 and {"es", "ru", "de"} <= set(languages)
    unsafe = set(Meme.objects.filter(is_safe=False).values_list("unsafe_reason", flat=True))
    assert any(r.startswith("spam") for r in unsafe)
    assert set(Meme.objects.values_list("rating", flat=True)) >= {"g", "pg-13", "blocked"}

    assert meme_search(query="paran", fuzzy=True)[0].text.count("paranoid")
    assert meme_search(query="weather paris", limit=1)[0].text.startswith("weather report for Paris")

    again = io.StringIO()
    call_command("import_memes", str(SAMPLE), "--languages", str(SAMPLE_LANGUAGES), "--no-progress", stdout=again)
    assert "Imported 0, updated 0, unchanged 416" in again.getvalue()


@pytest.mark.skipif(not SUBSET.exists(), reason="the LoC subset is in ../shared/data, which a clone does not have")
def test_the_real_loc_subset_imports_with_its_languages_and_safety_flags():
    summary = catalogue_import(path=SUBSET, languages_path=LANGUAGES, progress=False)

    with SUBSET.open(encoding="utf-8", newline="") as handle:
        file_rows = list(csv.DictReader(handle))
    assert len(file_rows) == 4666
    assert summary.imported + summary.skipped == 4666
    assert summary.skipped < 20  # rows with no template name at all
    assert all("Base Meme Name" in error.message for error in summary.errors)

    with LANGUAGES.open(encoding="utf-8", newline="") as handle:
        file_languages = {int(row["Meme ID"]): row["Language"] for row in csv.DictReader(handle)}
    stored = dict(Meme.objects.values_list("source_id", "language"))
    readable = {source_id for source_id in stored if file_languages[source_id] != "Could Not Detect"}
    assert len(readable) > 4600
    assert all(stored[source_id] == file_languages[source_id].split("-")[0] for source_id in readable)
    counts = Counter(stored.values())
    assert counts.most_common(3) == [("en", counts["en"]), ("es", counts["es"]), ("ru", counts["ru"])]
    assert 1500 < counts["en"] < 1700

    unsafe = Meme.objects.filter(is_safe=False).count()
    # Blocked (never served) is ~2 % of the subset; profanity is rated r, served only to who asks for it.
    assert 0.01 * 4666 < unsafe < 0.1 * 4666  # a filter that does something, not everything
    assert Meme.objects.filter(rating="r").count() > 0.02 * 4666
    assert Meme.objects.filter(is_safe=False, unsafe_reason__startswith="spam").exists()  # links, as before

    hits = meme_search(query="one does not simply", limit=5)
    assert len(hits) == 5 and all("simply" in (h.text + h.template).lower() for h in hits)
    safe_ids = set(Meme.objects.filter(is_safe=True).values_list("id", flat=True))
    for query in ("fuck", "shit", "bitch", "mierda"):
        for lang in ("en", "es"):
            assert {hit.id for hit in meme_search(query=query, limit=50, lang=lang)} <= safe_ids

    again = catalogue_import(path=SUBSET, languages_path=LANGUAGES, progress=False)
    assert (again.imported, again.updated) == (0, 0)
