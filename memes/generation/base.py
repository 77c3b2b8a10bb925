"""The one interface every meme generator implements (the factory that picks one is ``memes.generation.factory``).

A generator turns "a meme about *query*, for a client at *place*, in *lang*" into a caption on a
template. It never touches the database or billing: the caller stores the result as a ``Meme``
(``kind="ai"``, ``generator=caption.generator``) and charges for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from memes.geo import Place


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
