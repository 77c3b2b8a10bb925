"""Fixtures for the disaster-recovery tests: the memes tests' small catalogue (a paid call needs a meme)."""

from tests.memes.conftest import catalogue, catalogue_files, write_csv  # noqa: F401  (fixtures)
