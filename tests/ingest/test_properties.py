"""Property-based: any valid record is accepted, any record with an unknown key is rejected."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.validation import FIELDS, RecordInvalid, Rules, record_parse
from tests.ingest.conftest import post_record

NOW = int(time.time())
RULES = Rules(ts_min=946_684_800, ts_max=NOW + 86_400, max_depth=32)

# Text that PostgreSQL and UTF-8 can carry: no NUL, no unpaired surrogates (category Cs).
safe_chars = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
safe_text = st.text(alphabet=safe_chars, max_size=40)
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | safe_text
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(safe_text, inner, max_size=4),
    max_leaves=12,
)
ts_value = st.integers(min_value=RULES.ts_min, max_value=NOW) | st.integers(min_value=RULES.ts_min, max_value=NOW).map(
    str
)
octet = st.integers(min_value=0, max_value=255)
valid_record = st.fixed_dictionaries(
    {
        "ts": ts_value,
        "sender": st.text(alphabet=safe_chars, min_size=1, max_size=255).filter(str.strip),
        "message": st.dictionaries(safe_text, json_value, min_size=1, max_size=5),
    },
    optional={
        "sent-from-ip": st.tuples(octet, octet, octet, octet).map(lambda parts: ".".join(map(str, parts))),
        "priority": st.integers(min_value=-(2**31), max_value=2**31 - 1),
    },
)
unknown_key = st.text(max_size=20).filter(lambda key: key not in FIELDS)


@given(record=valid_record)
@settings(max_examples=300, deadline=None)
def test_any_valid_record_passes_validation_unchanged(record: dict[str, Any]) -> None:
    valid = record_parse(json.dumps(record).encode(), rules=RULES)
    assert valid.ts == int(record["ts"])
    assert valid.sender == record["sender"]
    assert valid.message == record["message"]
    assert valid.sent_from_ip == record.get("sent-from-ip")
    assert valid.priority == record.get("priority")


@given(record=valid_record, key=unknown_key, value=json_value)
@settings(max_examples=300, deadline=None)
def test_any_record_with_an_unknown_key_is_rejected_naming_that_key(
    record: dict[str, Any], key: str, value: Any
) -> None:
    with pytest.raises(RecordInvalid) as exc:
        record_parse(json.dumps({**record, key: value}).encode(), rules=RULES)
    assert exc.value.errors == {key: ["Unknown field."]}


# Through the API: fewer examples (each is a request), same properties.
@pytest.mark.django_db
@given(record=valid_record)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_accepts_any_valid_record(ingest_api: Any, record: dict[str, Any]) -> None:
    api, _ = ingest_api
    response = post_record(api, record)
    assert response.status_code == 202, response.content


@pytest.mark.django_db
@given(record=valid_record, key=unknown_key, value=json_value)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_rejects_any_record_with_an_unknown_key(
    ingest_api: Any, record: dict[str, Any], key: str, value: Any
) -> None:
    api, _ = ingest_api
    response = post_record(api, {**record, key: value})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {key: ["Unknown field."]}
