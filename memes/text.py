"""Text normalisation shared by the safety filter and the search index, so both see the same words."""

from __future__ import annotations

import re
import unicodedata

WORD_RE = re.compile(r"\w+")


def fold(text: str) -> str:
    """Case- and accent-insensitive form: "Café PARÍS" -> "cafe paris", "Ёжик" -> "ежик".

    Decomposes (NFKD), drops combining marks, case-folds.
    """
    if text.isascii():
        return text.lower()  # the common case, ~20x faster than the Unicode path
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def words(text: str) -> list[str]:
    """The folded words of ``text`` (letters, digits, underscore), in order."""
    return WORD_RE.findall(fold(text))
