"""Meme writes, by sub-domain (the views, commands and admin call these):

- :mod:`memes.services.catalogue` — the LoC catalogue import, and the version bump that refreshes
  every process's search index;
- :mod:`memes.services.serving` — serving memes for money (catalogue or AI, JSON or PNG), charged
  through billing's paid-call steps;
- :mod:`memes.services.moderation` — clients' reports (enough of them hide a meme) and operators'
  recorded decisions.
"""

from memes.services.catalogue import (
    ImportSummary,
    RowError,
    catalogue_changed,
    catalogue_import,
    meme_rating,
    meme_rerate,
)
from memes.services.moderation import ReportResult, meme_decide, meme_report
from memes.services.owned import memes_owned_erase
from memes.services.serving import Served, meme_serve, meme_serve_by_id

__all__ = [
    "ImportSummary",
    "ReportResult",
    "RowError",
    "Served",
    "catalogue_changed",
    "catalogue_import",
    "meme_decide",
    "meme_rating",
    "meme_report",
    "meme_rerate",
    "meme_serve",
    "meme_serve_by_id",
    "memes_owned_erase",
]
