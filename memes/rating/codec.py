"""Encode and decode the rules files: offensive words are kept base64-encoded in the repository.

Nobody should meet a slur by opening a source file, and a code search for one must not find our
lists. To edit a language's rules::

    python -m memes.rating.codec decode memes/rating/rules/en.json > /tmp/en.plain.json
    # edit /tmp/en.plain.json (outside the repository)
    python -m memes.rating.codec encode /tmp/en.plain.json > memes/rating/rules/en.json

``encode``/``decode`` also take single words: ``python -m memes.rating.codec word "some phrase"``.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

# The entries of a rule that hold words or patterns (and are encoded); everything else is plain.
ENCODED_KEYS = ("words", "prefixes", "infixes", "patterns", "allow", "all_of")


def encode_text(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def decode_text(text: str) -> str:
    return base64.b64decode(text.encode("ascii")).decode()


def _map(value: Any, func: Any) -> Any:
    if isinstance(value, list):
        return [_map(item, func) for item in value]
    return func(value)


def transform(document: dict[str, Any], func: Any, encoding: str) -> dict[str, Any]:
    """``document`` with every encoded entry passed through ``func``, marked ``encoding``."""
    out = {**document, "encoding": encoding}
    if "allow" in document:
        out["allow"] = _map(document["allow"], func)
    out["rules"] = [
        {key: (_map(value, func) if key in ENCODED_KEYS else value) for key, value in rule.items()}
        for rule in document.get("rules", [])
    ]
    return out


def decoded(document: dict[str, Any]) -> dict[str, Any]:
    """A rules document with plain entries, whatever its ``encoding`` ("base64" or "plain")."""
    if document.get("encoding", "plain") == "plain":
        return document
    if document["encoding"] != "base64":
        raise ValueError(f"unknown rules encoding {document['encoding']!r}")
    return transform(document, decode_text, "plain")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"encode", "decode", "word"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, argument = argv
    if command == "word":
        print(encode_text(argument))
        return 0
    with open(argument, encoding="utf-8") as stream:
        document = json.load(stream)
    plain = decoded(document)
    document = transform(plain, encode_text, "base64") if command == "encode" else plain
    json.dump(document, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
