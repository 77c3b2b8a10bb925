"""The memes app's settings: ``settings.MEMES`` (a dict) over the defaults below.

Read at call time, never cached at import, so tests can override them with the ``settings`` fixture.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Language of GET /api/memes when the call names none (ISO 639-1).
    "DEFAULT_LANGUAGE": "en",
    # Each process checks the catalogue version at most this often and refreshes its search index.
    "INDEX_CHECK_SECONDS": 1.0,
    # AI memes (memes.generation): "local" (Markov model, offline) or "openai"; empty: "openai" when a
    # base URL and a key are set, else "local". The OpenAI backend falls back to the local model.
    "AI_GENERATOR": "",
    "AI_MODEL_DIR": "",  # where ai_model_<lang>.json live (train_ai); empty: settings.VAR_DIR
    "AI_TRAIN_ON_THE_FLY": True,  # no model file: train from the database once per process
    "OPENAI_BASE_URL": "",  # e.g. https://api.openai.com/v1
    "OPENAI_API_KEY": "",
    "OPENAI_MODEL": "gpt-4o-mini",
    "OPENAI_TIMEOUT": 3.0,  # seconds per attempt
    "OPENAI_RETRIES": 2,  # retries after the first attempt
    "OPENAI_DEADLINE": 5.0,  # seconds for all attempts, then the local model answers
    # An AI caption rated above the caller's ceiling is generated again this many times in all,
    # then a catalogue meme within the ceiling is served instead.
    "AI_RATING_TRIES": 3,
    # Distinct clients whose reports hide a meme until an operator decides.
    "REPORTS_TO_HIDE": 3,
}


def memes_setting(name: str) -> Any:
    return getattr(settings, "MEMES", {}).get(name, DEFAULTS[name])
