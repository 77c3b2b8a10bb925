"""Meme generators: one interface (:class:`MemeGenerator`), chosen by configuration (:func:`generator_for`).

* ``local`` — :class:`memes.generation.local.LocalGenerator`, a Markov model trained from the catalogue
  (``manage.py train_ai``), offline and fast;
* ``openai`` — :class:`memes.generation.openai.OpenAIGenerator`, an OpenAI-compatible API that falls back
  to the local model.
"""

from memes.generation.base import GeneratedCaption, MemeGenerator
from memes.generation.factory import configured_generator_name, generator_for, generators_reset

__all__ = ["GeneratedCaption", "MemeGenerator", "configured_generator_name", "generator_for", "generators_reset"]
