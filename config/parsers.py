"""The API's JSON parser: DRF's, with bad nesting a 400 instead of a 500.

Python's ``json`` decoder recurses once per nested array or object and raises ``RecursionError``
(not a ``ValueError``, which is all DRF's parser catches) at about 1,000 levels: a 2 KB body of
``[[[[…]]]]`` was an anonymous 500 on every endpoint that reads ``request.data``. No request of this
API nests more than a few levels, so anything past :data:`MAX_DEPTH` is refused before decoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


def json_depth_exceeds(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether ``raw`` (JSON text) nests arrays/objects deeper than ``limit``, brackets inside
    strings not counted. A linear scan without decoding: cheap, and it cannot recurse."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


class _Replay:
    """A stream that hands back bytes already read, for DRF's parser."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, *args: Any) -> bytes:
        data, self._data = self._data, b""
        return data


class BoundedJSONParser(JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        if json_depth_exceeds(raw):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
        try:
            return super().parse(_Replay(raw), media_type, parser_context)  # type: ignore[arg-type]
        except RecursionError as exc:  # belt and braces: the scan above should have refused it
            raise ParseError("JSON parse error - nested too deeply.") from exc
