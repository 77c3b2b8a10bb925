"""Strict validation of an ingest record, collecting every violation.

A hand-written validator over ``json.loads`` rather than a DRF serializer or a schema library:
the rules are five fields, each with a Python trap that a generic library gets wrong or needs
custom code for anyway (``True`` is an ``int``; ``"١٢٣".isdigit()`` is true; ``\\d`` and ``$`` in
``re`` accept non-ASCII digits and a trailing newline; ``json`` accepts ``NaN``, duplicate keys and
``1e400``), msgspec stops at the first error, and the DRF serializer path is ~2.5x slower per request
(docs/ingest.md has the figures). This module is pure Python with no Django import, so it is
cheap to test exhaustively.

Rules (docs/ingest.md is the user-facing version):

- ``ts``: required; an integer (not a boolean, not a float) or a string of ASCII digits, between
  ``ts_min`` (2000-01-01) and now + ``ts_max_future`` (1 day).
- ``sender``: required; a string of 1-255 characters, not blank, no NUL, no unpaired surrogate.
- ``message``: required; a JSON object with at least one field, nested at most ``max_depth`` deep,
  no duplicate keys, no NUL or unpaired surrogate in any string, only finite numbers.
- ``sent-from-ip``: optional; a dotted-quad IPv4 string: four decimal numbers 0-255, ASCII digits,
  no leading zeros, nothing else (no spaces, no newline). ``null`` is not an address.
- ``priority``: optional; an integer (not a boolean) in the signed 32-bit range.
- any other field: rejected by name. A key given twice: rejected by name.
"""

from __future__ import annotations

import ipaddress
import json
import math
from dataclasses import dataclass
from typing import Any

FIELDS = ("ts", "sender", "message", "sent-from-ip", "priority")
# The example of a valid record: the OpenAPI example, and what the benchmarks post.
EXAMPLE_RECORD: dict[str, Any] = {
    "ts": "1530228282",
    "sender": "testy-test-service",
    "message": {"foo": "bar", "baz": "bang"},
    "sent-from-ip": "1.2.3.4",
    "priority": 2,
}
REQUIRED = ("ts", "sender", "message")
SENDER_MAX_LENGTH = 255
PRIORITY_MIN, PRIORITY_MAX = -(2**31), 2**31 - 1
# Integers longer than this are kept out of int() (CPython refuses > 4300 digits anyway, with an
# error that would look like a server fault) and reported as out of range.
_MAX_INT_DIGITS = 40
_TS_MAX_DIGITS = 20
_MAX_MESSAGE_PROBLEMS = 20

MSG_REQUIRED = "This field is required."
MSG_UNKNOWN = "Unknown field."
MSG_DUPLICATE = "Given more than once."
MSG_TS_TYPE = "Must be a Unix timestamp in seconds: an integer or a string of ASCII digits (0-9)."
MSG_SENDER_TYPE = "Must be a string."
MSG_SENDER_BLANK = "Must not be empty or blank."
MSG_SENDER_LONG = f"Must be at most {SENDER_MAX_LENGTH} characters."
MSG_NUL = "Must not contain NUL (\\u0000) characters."
MSG_SURROGATE = "Must not contain unpaired surrogates (\\ud800-\\udfff)."
MSG_MESSAGE_TYPE = "Must be a JSON object."
MSG_MESSAGE_EMPTY = "Must have at least one field."
MSG_IP = (
    "Must be an IPv4 address in dotted-quad form, like 192.0.2.1: four decimal numbers 0-255, "
    "ASCII digits, no leading zeros, nothing around it."
)
MSG_IP_TYPE = "Must be a string (an IPv4 address in dotted-quad form)."
MSG_PRIORITY_TYPE = "Must be an integer (not a boolean, a float or a string)."
MSG_PRIORITY_RANGE = f"Out of range: must be between {PRIORITY_MIN} and {PRIORITY_MAX}."


@dataclass(frozen=True, slots=True)
class Rules:
    ts_min: int
    ts_max: int
    max_depth: int = 32


@dataclass(frozen=True, slots=True)
class ValidRecord:
    ts: int
    sender: str
    message: dict[str, Any]
    sent_from_ip: str | None
    priority: int | None


class BodyNotJson(ValueError):
    """The body is not a JSON text (or uses what strict JSON forbids: NaN, Infinity)."""


class BodyNotObject(ValueError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"The body must be a JSON object, not {kind}.")
        self.kind = kind


class RecordInvalid(ValueError):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(f"invalid record: {', '.join(errors)}")
        self.errors = errors


# --- Parsing ----------------------------------------------------------------------------------
class _BigNumber:
    """A JSON number too large to be useful (stands in for it so the validator can name the field)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _DuplicateKeysDict(dict):
    """An object in which some key appeared more than once (``json`` would keep the last silently)."""

    duplicates: list[str]


def _parse_int(text: str) -> int | _BigNumber:
    return _BigNumber(text) if len(text) > _MAX_INT_DIGITS else int(text)


def _parse_float(text: str) -> float | _BigNumber:
    value = float(text)
    # 1e400 parses to inf without going through parse_constant.
    return value if math.isfinite(value) else _BigNumber(text)


def _reject_constant(name: str) -> Any:
    raise BodyNotJson(f"{name} is not valid JSON.")


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    duplicates = []
    for key, _ in pairs:
        if key in seen and key not in duplicates:
            duplicates.append(key)
        seen.add(key)
    marked = _DuplicateKeysDict(obj)
    marked.duplicates = duplicates
    return marked


def body_parse(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; raises BodyNotJson / BodyNotObject."""
    try:
        # Decode ourselves: json.loads(bytes) would also guess UTF-16 and UTF-32.
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyNotJson(f"The body is not UTF-8 (invalid byte at offset {exc.start}).") from None
    try:
        data = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
            object_pairs_hook=_object_pairs,
        )
    except json.JSONDecodeError as exc:
        raise BodyNotJson(f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:
        raise BodyNotJson("The body is nested too deeply to parse.") from None
    if not isinstance(data, dict):
        raise BodyNotObject(_json_kind(data))
    return data


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | _BigNumber):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# --- Field rules ------------------------------------------------------------------------------
def _string_problem(value: str) -> str | None:
    if value.isascii():
        return MSG_NUL if "\x00" in value else None
    if "\x00" in value:
        return MSG_NUL
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return MSG_SURROGATE
    return None


def _check_ts(value: Any, rules: Rules) -> tuple[int | None, str | None]:
    if type(value) is int:  # not isinstance: bool is an int subclass
        ts = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():  # isascii: "١٢٣".isdigit() is True
        if len(value) > _TS_MAX_DIGITS:
            return None, _ts_range_message(rules)
        ts = int(value)
    elif isinstance(value, _BigNumber) and "." not in value.text and "e" not in value.text.lower():
        return None, _ts_range_message(rules)
    else:
        return None, MSG_TS_TYPE
    if not rules.ts_min <= ts <= rules.ts_max:
        return None, _ts_range_message(rules)
    return ts, None


def _ts_range_message(rules: Rules) -> str:
    return (
        f"Out of range: must be between {rules.ts_min} and {rules.ts_max} "
        "(from 2000-01-01 to one day from now, in seconds; milliseconds are too large)."
        if rules.ts_min == 946_684_800
        else f"Out of range: must be between {rules.ts_min} and {rules.ts_max}."
    )


def _check_sender(value: Any) -> str | None:
    if not isinstance(value, str):
        return MSG_SENDER_TYPE
    if not value.strip():
        return MSG_SENDER_BLANK
    if len(value) > SENDER_MAX_LENGTH:
        return MSG_SENDER_LONG
    return _string_problem(value)


def _check_ip(value: Any) -> str | None:
    if not isinstance(value, str):  # IPv4Address() would take an int (16909060) as an address
        return MSG_IP_TYPE
    # Python 3.9.5+ parses exactly the strict dotted quad: four ASCII-digit octets 0-255, no leading
    # zeros, nothing around them (no "\n", no "/32", no Unicode digits, no inet_aton() short forms).
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return MSG_IP
    return None


def _check_priority(value: Any) -> str | None:
    if isinstance(value, _BigNumber) and "." not in value.text and "e" not in value.text.lower():
        return MSG_PRIORITY_RANGE
    if type(value) is not int:
        return MSG_PRIORITY_TYPE
    if not PRIORITY_MIN <= value <= PRIORITY_MAX:
        return MSG_PRIORITY_RANGE
    return None


def _message_problems(message: dict[str, Any], max_depth: int) -> list[str]:
    """Everything in the message the database (JSONB) or the queue cannot carry faithfully."""
    problems: list[str] = []
    # Iterative walk: (value, path, depth). The message object itself is depth 1.
    stack: list[tuple[Any, str, int]] = [(message, "$", 1)]
    while stack and len(problems) < _MAX_MESSAGE_PROBLEMS:
        value, path, depth = stack.pop()
        if isinstance(value, dict):
            if depth > max_depth:
                problems.append(f"Nested deeper than {max_depth} levels at {path}.")
                continue
            if type(value) is _DuplicateKeysDict:
                problems.extend(f"Duplicate key {key!r} at {path}." for key in value.duplicates)
            for key, item in value.items():
                problem = _string_problem(key)
                if problem:
                    problems.append(f"Key at {path}: {problem}")
                stack.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(value, list):
            if depth > max_depth:
                problems.append(f"Nested deeper than {max_depth} levels at {path}.")
                continue
            stack.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))
        elif isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                problems.append(f"String at {path}: {problem}")
        elif isinstance(value, _BigNumber):
            problems.append(
                f"Number at {path} is out of range (at most {_MAX_INT_DIGITS} digits, finite doubles only)."
            )
    return problems[:_MAX_MESSAGE_PROBLEMS]


def record_validate(data: dict[str, Any], *, rules: Rules) -> ValidRecord:
    """Check every rule; raise RecordInvalid listing every violation by field."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if type(data) is _DuplicateKeysDict:
        for key in data.duplicates:
            add(key, MSG_DUPLICATE)
    for key in data:
        if key not in FIELDS:
            add(key, MSG_UNKNOWN)
    for key in REQUIRED:
        if key not in data:
            add(key, MSG_REQUIRED)

    ts: int | None = None
    if "ts" in data:
        ts, problem = _check_ts(data["ts"], rules)
        if problem:
            add("ts", problem)
    if "sender" in data and (problem := _check_sender(data["sender"])):
        add("sender", problem)
    message = data.get("message")
    if "message" in data:
        if not isinstance(message, dict):
            add("message", MSG_MESSAGE_TYPE)
        elif not message:
            add("message", MSG_MESSAGE_EMPTY)
        else:
            for problem in _message_problems(message, rules.max_depth):
                add("message", problem)
    ip = data.get("sent-from-ip")
    if "sent-from-ip" in data and (problem := _check_ip(ip)):
        add("sent-from-ip", problem)
    priority = data.get("priority")
    if "priority" in data and (problem := _check_priority(priority)):
        add("priority", problem)

    if errors:
        raise RecordInvalid(errors)
    assert ts is not None and isinstance(message, dict)
    return ValidRecord(ts=ts, sender=data["sender"], message=message, sent_from_ip=ip, priority=priority)


def record_parse(body: bytes, *, rules: Rules) -> ValidRecord:
    """Parse and validate a request body in one go."""
    return record_validate(body_parse(body), rules=rules)
