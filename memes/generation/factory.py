"""The factory that picks a meme generator by configuration, one shared instance per process."""

from __future__ import annotations

import threading

from memes.conf import memes_setting
from memes.generation.base import MemeGenerator
from memes.generation.local import LocalGenerator
from memes.generation.openai import OpenAIGenerator

GENERATOR_NAMES = ("local", "openai")


def configured_generator_name() -> str:
    """``MEMES["AI_GENERATOR"]``; "openai" needs a base URL and a key, otherwise "local" is used."""
    name = str(memes_setting("AI_GENERATOR") or "").strip().lower()
    if not name:
        name = "openai" if memes_setting("OPENAI_BASE_URL") and memes_setting("OPENAI_API_KEY") else "local"
    return name


_instances: dict[str, MemeGenerator] = {}
_instances_lock = threading.Lock()


def generator_for(name: str | None = None) -> MemeGenerator:
    """The generator called ``name`` (default: the configured one), one shared instance per process.

    Instances are shared because they hold what is costly to build: the loaded model, HTTP sessions.
    Raises ``ValueError`` for an unknown name (a configuration error, not a client's).
    """
    name = (name or configured_generator_name()).strip().lower()
    if name not in GENERATOR_NAMES:
        raise ValueError(f"unknown meme generator {name!r}: expected one of {', '.join(GENERATOR_NAMES)}")
    with _instances_lock:
        generator = _instances.get(name)
        if generator is None:
            generator = _build(name)
            _instances[name] = generator
        return generator


def _build(name: str) -> MemeGenerator:
    if name == "openai":
        return OpenAIGenerator(fallback=LocalGenerator())
    return LocalGenerator()


def generators_reset() -> None:
    """Forget the shared instances (tests that change the settings call this)."""
    with _instances_lock:
        _instances.clear()
