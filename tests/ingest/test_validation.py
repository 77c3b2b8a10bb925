"""The validator, rule by rule (table-driven), including Python's traps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ingest.validation import (
    BodyNotJson,
    BodyNotObject,
    RecordInvalid,
    Rules,
    ValidRecord,
    body_parse,
    record_parse,
    record_validate,
)

NOW = 1_700_000_000
ARABIC_INDIC_ZERO, FULLWIDTH_ZERO = 0x0660, 0xFF10


def in_digits(text: str, zero: int) -> str:
    """``text`` with its ASCII digits written in another script's digits (which str.isdigit() accepts)."""
    return "".join(chr(zero + int(char)) if char in "0123456789" else char for char in text)


RULES = Rules(ts_min=946_684_800, ts_max=NOW + 86_400, max_depth=32)
BASE: dict[str, Any] = {"ts": 1530228282, "sender": "svc", "message": {"a": 1}}


def errors_for(**fields: Any) -> dict[str, list[str]]:
    """Validate BASE with ``fields`` replaced (a value of ... removes the field); return the errors."""
    data = {**BASE, **fields}
    data = {key.replace("_", "-"): value for key, value in data.items() if value is not ...}
    try:
        record_validate(data, rules=RULES)
    except RecordInvalid as exc:
        return exc.errors
    return {}


def test_the_issue_example_is_valid() -> None:
    body = (
        b'{"ts": "1530228282", "sender": "testy-test-service", "message": {"foo": "bar", "baz": "bang"},'
        b' "sent-from-ip": "1.2.3.4", "priority": 2}'
    )
    assert record_parse(body, rules=RULES) == ValidRecord(
        ts=1530228282,
        sender="testy-test-service",
        message={"foo": "bar", "baz": "bang"},
        sent_from_ip="1.2.3.4",
        priority=2,
    )


@pytest.mark.parametrize(
    "value",
    [1530228282, "1530228282", "0946684800", 946_684_800, NOW + 86_400, str(NOW + 86_400)],
    ids=["int", "digit-string", "leading-zero-string", "lower-bound", "upper-bound", "upper-bound-string"],
)
def test_ts_accepts_integers_and_ascii_digit_strings_in_range(value: Any) -> None:
    assert errors_for(ts=value) == {}


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (True, "type"),  # bool is an int subclass in Python
        (False, "type"),
        (1530228282.0, "type"),
        (1.5e9, "type"),
        (in_digits("123", ARABIC_INDIC_ZERO), "type"),  # the issue's "١٢٣"
        (in_digits("1530228282", ARABIC_INDIC_ZERO), "type"),  # "١٥٣٠..."; str.isdigit() is True
        (in_digits("1530228282", FULLWIDTH_ZERO), "type"),
        ("²", "type"),  # superscript two: isdigit() is True
        ("", "type"),
        (" 1530228282", "type"),
        ("1530228282 ", "type"),
        ("1530228282\n", "type"),
        ("+1530228282", "type"),
        ("-1530228282", "type"),
        ("1530228282.0", "type"),
        ("1e9", "type"),
        ("0x5b3", "type"),
        ("1_530_228_282", "type"),  # int() accepts underscores
        (None, "type"),
        ([1530228282], "type"),
        ({"ts": 1}, "type"),
        (0, "range"),
        (-1, "range"),
        (946_684_799, "range"),
        (NOW + 86_401, "range"),
        (1530228282000, "range"),  # milliseconds
        ("1530228282000", "range"),
        ("9" * 30, "range"),
    ],
)
def test_ts_rejects_non_integers_traps_and_out_of_range(value: Any, why: str) -> None:
    errors = errors_for(ts=value)
    assert list(errors) == ["ts"]
    assert ("Out of range" in errors["ts"][0]) == (why == "range")


def test_ts_huge_json_integer_is_out_of_range_not_a_crash() -> None:
    body = b'{"ts": ' + b"9" * 5000 + b', "sender": "s", "message": {"a": 1}}'
    with pytest.raises(RecordInvalid) as exc:
        record_parse(body, rules=RULES)
    assert list(exc.value.errors) == ["ts"]
    assert "Out of range" in exc.value.errors["ts"][0]


@pytest.mark.parametrize("value", ["x", "testy-test-service", " padded ", "ünïcödé 🚀", "a" * 255])
def test_sender_accepts_non_empty_strings_up_to_255_characters(value: str) -> None:
    assert errors_for(sender=value) == {}


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\t\n", "empty"),
        ("a" * 256, "at most 255"),
        (123, "string"),
        (True, "string"),
        (None, "string"),
        (["svc"], "string"),
        ({"name": "svc"}, "string"),
        ("svc\x00", "NUL"),
        ("svc\ud800", "surrogate"),
    ],
)
def test_sender_rejects_empty_long_non_strings_and_what_postgres_cannot_store(value: Any, fragment: str) -> None:
    errors = errors_for(sender=value)
    assert list(errors) == ["sender"]
    assert fragment in errors["sender"][0]


@pytest.mark.parametrize(
    "value",
    [{"a": 1}, {"nested": {"list": [1, 2.5, None, True, "x"]}}, {"": ""}, {"emoji": "🚀"}, {"n": -0.0}],
)
def test_message_accepts_any_json_object_with_a_field(value: Any) -> None:
    assert errors_for(message=value) == {}


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({}, "at least one field"),
        ([], "JSON object"),
        ([{"a": 1}], "JSON object"),
        ("{}", "JSON object"),
        ('{"a": 1}', "JSON object"),
        (None, "JSON object"),
        (1, "JSON object"),
        (True, "JSON object"),
        ({"a": "x\x00y"}, "NUL"),
        ({"a\x00": 1}, "NUL"),
        ({"a": ["\udc80"]}, "surrogate"),
    ],
)
def test_message_rejects_non_objects_empty_objects_and_unstorable_strings(value: Any, fragment: str) -> None:
    errors = errors_for(message=value)
    assert list(errors) == ["message"]
    assert fragment in errors["message"][0]


def test_message_nesting_is_capped() -> None:
    deep: Any = {"leaf": 1}
    for _ in range(40):
        deep = {"d": deep}
    errors = errors_for(message=deep)
    assert list(errors) == ["message"]
    assert "deeper than 32" in errors["message"][0]
    shallow: Any = {"leaf": 1}
    for _ in range(30):
        shallow = {"d": shallow}
    assert errors_for(message=shallow) == {}


@pytest.mark.parametrize("value", ["1.2.3.4", "0.0.0.0", "255.255.255.255", "192.168.0.1", "10.0.10.100"])
def test_ip_accepts_dotted_quads(value: str) -> None:
    assert errors_for(sent_from_ip=value) == {}


@pytest.mark.parametrize(
    "value",
    [
        "01.2.3.4",  # leading zero (octal in some parsers)
        "1.2.3.04",
        "1.2.3.00",
        "256.1.1.1",
        "1.2.3",
        "1.2.3.4.5",
        "1.2.3.",
        ".1.2.3",
        "1..2.3",
        " 1.2.3.4",
        "1.2.3.4 ",
        "1.2.3.4\n",  # re's $ would match before this
        "1.2.3.4/32",
        in_digits("1.2.3.4", ARABIC_INDIC_ZERO),  # \d would match these digits
        in_digits("1.2.3.4", FULLWIDTH_ZERO),
        "0x1.2.3.4",
        "16909060",  # a valid inet_aton() integer form
        "1.2.3.-4",
        "::1",
        "::ffff:1.2.3.4",
        "",
        "localhost",
        None,
        16909060,
        ["1.2.3.4"],
    ],
)
def test_ip_rejects_anything_but_a_strict_dotted_quad(value: Any) -> None:
    assert list(errors_for(sent_from_ip=value)) == ["sent-from-ip"]


@pytest.mark.parametrize("value", [0, 2, -5, 2**31 - 1, -(2**31)])
def test_priority_accepts_32_bit_integers(value: int) -> None:
    assert errors_for(priority=value) == {}


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (True, "integer"),
        (False, "integer"),
        (2.0, "integer"),
        ("2", "integer"),
        (None, "integer"),
        ([2], "integer"),
        (2**31, "Out of range"),
        (-(2**31) - 1, "Out of range"),
    ],
)
def test_priority_rejects_booleans_floats_strings_and_out_of_range(value: Any, fragment: str) -> None:
    errors = errors_for(priority=value)
    assert list(errors) == ["priority"]
    assert fragment in errors["priority"][0]


def test_optional_fields_may_be_absent() -> None:
    assert errors_for(sent_from_ip=..., priority=...) == {}


@pytest.mark.parametrize("missing", ["ts", "sender", "message"])
def test_required_fields_are_required(missing: str) -> None:
    assert errors_for(**{missing: ...}) == {missing: ["This field is required."]}


@pytest.mark.parametrize("key", ["extra", "Ts", "sent_from_ip", "sentFromIp", "id", ""])
def test_unknown_fields_are_rejected_by_name(key: str) -> None:
    data = {**BASE, key: 1}
    with pytest.raises(RecordInvalid) as exc:
        record_validate(data, rules=RULES)
    assert exc.value.errors == {key: ["Unknown field."]}


def test_every_violation_is_listed_by_field() -> None:
    data = {
        "ts": True,
        "sender": "",
        "message": {},
        "sent-from-ip": "01.2.3.4",
        "priority": "high",
        "colour": "red",
        "size": 3,
    }
    with pytest.raises(RecordInvalid) as exc:
        record_validate(data, rules=RULES)
    assert set(exc.value.errors) == {"ts", "sender", "message", "sent-from-ip", "priority", "colour", "size"}
    assert all(len(messages) == 1 for messages in exc.value.errors.values())


def test_an_empty_object_lists_all_required_fields() -> None:
    with pytest.raises(RecordInvalid) as exc:
        record_validate({}, rules=RULES)
    assert exc.value.errors == {name: ["This field is required."] for name in ("ts", "sender", "message")}


# --- the body as JSON ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"{",
        b"{'ts': 1}",
        b'{"ts": 1,}',
        b"ts=1&sender=x",
        b'{"ts": NaN}',
        b'{"ts": Infinity}',
        b'{"ts": -Infinity}',
        b'{"a": 1} {"b": 2}',
        b"\xff\xfe{\x00}\x00",  # UTF-16: json.loads(bytes) would guess and decode it
        b'\xef\xbb\xbf{"ts": 1}',  # UTF-8 byte order mark
        b'{"sender": "\xc3\x28"}',  # invalid UTF-8
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser's recursion limit
    ],
)
def test_bodies_that_are_not_strict_json_are_refused(body: bytes) -> None:
    with pytest.raises(BodyNotJson):
        body_parse(body)


@pytest.mark.parametrize(
    ("body", "kind"),
    [(b"[]", "an array"), (b'"x"', "a string"), (b"1", "a number"), (b"null", "null"), (b"true", "a boolean")],
)
def test_json_that_is_not_an_object_is_refused_with_its_kind(body: bytes, kind: str) -> None:
    with pytest.raises(BodyNotObject) as exc:
        body_parse(body)
    assert exc.value.kind == kind


def test_duplicate_top_level_keys_are_rejected_by_name() -> None:
    body = b'{"ts": 1530228282, "sender": "a", "sender": "b", "message": {"a": 1}}'
    with pytest.raises(RecordInvalid) as exc:
        record_parse(body, rules=RULES)
    assert exc.value.errors == {"sender": ["Given more than once."]}


def test_duplicate_keys_inside_the_message_are_rejected() -> None:
    body = b'{"ts": 1530228282, "sender": "a", "message": {"x": {"k": 1, "k": 2}}}'
    with pytest.raises(RecordInvalid) as exc:
        record_parse(body, rules=RULES)
    assert list(exc.value.errors) == ["message"]
    assert "Duplicate key 'k' at $.x" in exc.value.errors["message"][0]


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"1" + b"0" * 60])
def test_numbers_in_the_message_that_json_cannot_round_trip_are_rejected(number: bytes) -> None:
    body = b'{"ts": 1530228282, "sender": "a", "message": {"n": ' + number + b"}}"
    with pytest.raises(RecordInvalid) as exc:
        record_parse(body, rules=RULES)
    assert list(exc.value.errors) == ["message"]
    assert "out of range" in exc.value.errors["message"][0]


def test_escaped_nul_and_lone_surrogates_in_the_body_are_caught() -> None:
    body = json.dumps({"ts": 1530228282, "sender": "a\u0000", "message": {"k": "\udfff"}}).encode()
    with pytest.raises(RecordInvalid) as exc:
        record_parse(body, rules=RULES)
    assert set(exc.value.errors) == {"sender", "message"}
