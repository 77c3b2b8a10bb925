"""Index refresh of a large catalogue happens in the background, and concurrent imports stay consistent."""

from __future__ import annotations

import threading
import time

import pytest

from memes.models import Meme
from memes.search import holder
from memes.selectors import meme_search
from memes.services import catalogue_import
from tests.memes.loc_files import loc_row


@pytest.mark.django_db(transaction=True)
def test_a_large_catalogue_is_rebuilt_in_the_background_while_the_old_index_serves(monkeypatch, write_csv):
    monkeypatch.setattr(holder, "SYNC_REBUILD_MAX_DOCS", 0)  # treat this catalogue as large
    catalogue_import(path=write_csv([loc_row(1, "Cat", "the old caption")]), progress=False)
    assert [h.text for h in meme_search(query="caption")] == ["the old caption"]
    old_index = holder.index_holder.get()

    catalogue_import(path=write_csv([loc_row(1, "Cat", "the new caption")]), progress=False)
    first = meme_search(query="caption")  # notices the change, starts the rebuild, answers at once

    deadline = time.monotonic() + 10
    while holder.index_holder.get() is old_index and time.monotonic() < deadline:
        time.sleep(0.02)
    assert holder.index_holder.get() is not old_index, "the background rebuild never finished"
    assert [h.text for h in first] in (["the old caption"], ["the new caption"])
    assert [h.text for h in meme_search(query="caption")] == ["the new caption"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_of_the_same_file_never_duplicate(write_csv):
    path = write_csv([loc_row(i, "Cat", f"caption number {i}") for i in range(1, 301)])
    summaries, errors = [], []

    def run() -> None:
        try:
            summaries.append(catalogue_import(path=path, batch_size=50, progress=False))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert Meme.objects.count() == 300
    assert sum(s.imported + s.updated + s.unchanged for s in summaries) == 900
