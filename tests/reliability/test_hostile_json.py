"""Deeply nested JSON is a 400 on every endpoint that parses a body with DRF (finding 7: a 2 KB body
of 1,000 nested arrays was an anonymous 500 on the token endpoints and the top-up)."""

from __future__ import annotations

import pytest

from accounts.roles import BILLING_TOPUP
from config.parsers import MAX_DEPTH, json_depth_exceeds

DEEP_ARRAYS = "[" * 1000 + "]" * 1000
DEEP_OBJECTS = '{"a":' * 1000 + "1" + "}" * 1000
DEEP_IN_FIELD = '{"api_key": ' + "[" * 5000 + "]" * 5000 + "}"


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP_ARRAYS, DEEP_OBJECTS, DEEP_IN_FIELD], ids=["arrays", "objects", "in-field"])
@pytest.mark.parametrize("path", ["/api/auth/token", "/api/auth/token/refresh"])
def test_deep_json_on_the_token_endpoints_is_400(api_client, path, body):
    response = api_client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP_ARRAYS, DEEP_OBJECTS, DEEP_IN_FIELD], ids=["arrays", "objects", "in-field"])
def test_deep_json_on_topups_is_400(api_client, make_client, body):
    _, key = make_client(roles=[BILLING_TOPUP])
    response = api_client.post("/api/billing/topups", data=body, content_type="application/json", HTTP_X_TOKEN=key)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.django_db
def test_nesting_up_to_the_limit_still_parses(api_client):
    # Nested as deep as allowed: parsed, then refused by the serializer as a bad field, not as JSON.
    body = '{"api_key": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
    response = api_client.post("/api/auth/token", data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"


def test_depth_scan_ignores_brackets_in_strings():
    assert not json_depth_exceeds(b'{"a": "' + b"[" * 100 + b'"}', limit=2)
    assert not json_depth_exceeds(b'{"a": "\\"' + b"[" * 100 + b'"}', limit=2)
    assert json_depth_exceeds(b"[[[", limit=2)
    assert not json_depth_exceeds(b"[[]]", limit=2)
