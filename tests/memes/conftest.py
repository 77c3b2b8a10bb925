"""Fixtures for the memes tests: CSV files in the LoC format and a small imported catalogue."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from memes.geo import place_cache_clear
from memes.loc_format import COLUMNS_2019
from memes.selectors import search_index_reset
from memes.services import catalogue_import
from tests.memes.loc_files import CATALOGUE, loc_row


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(10_000))

    def write(
        rows: Iterable[list[str]],
        *,
        header: Iterable[str] = COLUMNS_2019,
        name: str | None = None,
        encoding: str = "utf-8",
        delimiter: str = ",",
    ) -> Path:
        path = tmp_path / (name or f"memes_{next(counter)}.csv")
        with path.open("w", newline="", encoding=encoding) as handle:
            writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
            writer.writerow(list(header))
            writer.writerows(rows)
        return path

    return write


@pytest.fixture
def catalogue_files(write_csv: Callable[..., Path]) -> tuple[Path, Path]:
    memes = write_csv([loc_row(i, t, u, lo) for i, t, u, lo, _ in CATALOGUE], name="catalogue.csv")
    languages = write_csv(
        [[str(i), lang] for i, *_, lang in CATALOGUE], header=["Meme ID", "Language"], name="lang.csv"
    )
    return memes, languages


@pytest.fixture
def catalogue(db: None, catalogue_files: tuple[Path, Path]) -> tuple[Path, Path]:
    """The CATALOGUE above, imported with its language file."""
    memes, languages = catalogue_files
    summary = catalogue_import(path=memes, languages_path=languages, progress=False)
    assert summary.imported == len(CATALOGUE), summary.errors
    return catalogue_files


@pytest.fixture(autouse=True)
def _fresh_search_state() -> None:
    """Each test starts without a search index (the database under it is rolled back between tests)."""
    search_index_reset()
    place_cache_clear()


@pytest.fixture
def api_client(db: None, make_client: Callable[..., tuple[object, str]]) -> APIClient:
    """An API client authenticated as a catalogue (non-premium) client with plenty of tokens:
    the search tests are about search; billing has its own tests."""
    _, key = make_client("searcher", tokens=1_000_000)
    api = APIClient()
    api.credentials(HTTP_X_TOKEN=key)
    return api
