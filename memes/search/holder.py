"""Which search index this process serves: built once, kept fresh, rebuilt without stalling.

Each process holds one immutable :class:`~memes.search.engine.SearchIndex` of the catalogue
(``index_holder``), built on first use and swapped whole when the catalogue changes. Freshness: the
catalogue has a version token in the database (``CatalogueState``); each process reads it at most
once per ``MEMES["INDEX_CHECK_SECONDS"]`` (default 1 s) and rebuilds when it changed: in the
request's thread for small catalogues (< ``SYNC_REBUILD_MAX_DOCS``), otherwise in a background
thread while requests keep using the previous index. After a build the process gives the build's
temporary memory back to the OS.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import threading
import time

from django.db import connection

from memes.conf import memes_setting
from memes.models import CatalogueState, Meme
from memes.rating.levels import RANK
from memes.search.engine import BLOCKED_RANK, SearchIndex, index_build

logger = logging.getLogger("memes.search")

SYNC_REBUILD_MAX_DOCS = 20_000


def _index_build(version: str) -> SearchIndex:
    """Read the searchable catalogue (one query, streamed) and build a fresh index of it."""
    started = time.perf_counter()
    rows = (
        Meme.objects.filter(kind__in=[Meme.Kind.TEXT, Meme.Kind.IMAGE])
        .order_by("id")
        .values_list("id", "template", "text", "kind", "image_url", "language", "rating", "hidden")
    )
    ranked = (
        (meme_id, template, text, kind, image_url, language, BLOCKED_RANK if hidden else RANK[rating])
        for meme_id, template, text, kind, image_url, language, rating, hidden in rows.iterator(chunk_size=5000)
    )
    index = index_build(version, ranked)
    _release_memory()
    logger.info(
        "search_index_built memes=%d languages=%d seconds=%.2f version=%s",
        index.size,
        len(index.partitions),
        time.perf_counter() - started,
        version,
    )
    return index


def _release_memory() -> None:
    """Give the build's temporary arrays and tuples back to the OS (~300 -> ~175 MB RSS at 100k memes).

    glibc keeps freed memory in the process otherwise; every worker builds its own index, so it adds up.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class IndexHolder:
    """The process's current index, its freshness check and its rebuilds. Thread-safe."""

    def __init__(self) -> None:
        self._index: SearchIndex | None = None
        self._next_check = 0.0
        self._check_lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._rebuilding = False

    def get(self) -> SearchIndex:
        index = self._index
        if index is not None and time.monotonic() < self._next_check:
            return index  # the hot path: no lock, no I/O
        if index is not None and not self._check_lock.acquire(blocking=False):
            return index  # another thread is checking right now
        if index is None:
            self._check_lock.acquire()
        try:
            return self._check()
        finally:
            self._check_lock.release()

    def _check(self) -> SearchIndex:
        interval = float(memes_setting("INDEX_CHECK_SECONDS"))
        self._next_check = time.monotonic() + interval
        version = catalogue_version()
        index = self._index
        if index is not None and index.version == version:
            return index
        if index is None or index.size < SYNC_REBUILD_MAX_DOCS:
            with self._build_lock:
                if self._index is None or self._index.version != version:
                    self._index = _index_build(version)
            return self._index
        if not self._rebuilding:
            self._rebuilding = True
            threading.Thread(target=self._rebuild_in_background, args=(version,), daemon=True).start()
        return index

    def _rebuild_in_background(self, version: str) -> None:
        try:
            with self._build_lock:
                self._index = _index_build(version)
        except Exception:  # keep serving the previous index; the next check retries
            logger.exception("search_index_rebuild_failed version=%s", version)
            self._next_check = 0.0
        finally:
            self._rebuilding = False
            connection.close()  # this thread's own connection

    def invalidate(self) -> None:
        """Check the catalogue version on the next search (this process changed the catalogue)."""
        self._next_check = 0.0

    def reset(self) -> None:
        with self._build_lock:
            self._index = None
            self._next_check = 0.0


def catalogue_version() -> str:
    # A plain primary-key read; it runs at most once per INDEX_CHECK_SECONDS per process.
    return CatalogueState.objects.filter(id=1).values_list("version", flat=True).first() or ""


index_holder = IndexHolder()
