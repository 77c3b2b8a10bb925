"""The one interface every meme generator implements, and the factory that picks one by configuration.

A generator turns "a meme about *query*, for a client at *place*, in *lang*" into a caption on a
template. It never touches the database or billing: the caller stores the result as a ``Meme``
(``kind="ai"``, ``generator=caption.generator``) and charges for it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from django.conf import settings

if TYPE_CHECKING:
    from memes.geo import Place

GENERATOR_NAMES = ("local", "openai")


@dataclass(frozen=True, slots=True)
class GeneratedCaption:
    """A caption a generator produced: what a ``Meme`` row of kind "ai" is made of.

    ``generator`` is the backend that actually wrote it ("local" or "openai"): an OpenAI generator that
    fell back to the local model reports "local". ``language`` is the language of the model that wrote it,
    which is the requested one unless no model exists for it (then the default language).
    """

    template: str
    upper: str
    lower: str
    text: str
    generator: str
    language: str


@runtime_checkable
class MemeGenerator(Protocol):
    name: str

    def generate(self, *, query: str, place: Place | None, lang: str, seed: int | None = None) -> GeneratedCaption:
        """A new caption about ``query`` (or ``place``) in ``lang``; the same ``seed`` gives the same caption."""
        ...


def memes_setting(key: str, default: object) -> object:
    """One key of ``settings.MEMES``, read at call time so tests can override it."""
    return getattr(settings, "MEMES", {}).get(key, default)


def configured_generator_name() -> str:
    """``MEMES["AI_GENERATOR"]``; "openai" needs a base URL and a key, otherwise "local" is used."""
    name = str(memes_setting("AI_GENERATOR", "") or "").strip().lower()
    if not name:
        name = "openai" if memes_setting("OPENAI_BASE_URL", "") and memes_setting("OPENAI_API_KEY", "") else "local"
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
    from memes.generation.local import LocalGenerator

    if name == "openai":
        from memes.generation.openai import OpenAIGenerator

        return OpenAIGenerator(fallback=LocalGenerator())
    return LocalGenerator()


def generators_reset() -> None:
    """Forget the shared instances (tests that change the settings call this)."""
    with _instances_lock:
        _instances.clear()
