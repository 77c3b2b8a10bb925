"""Hostile clients: forged and stale JWTs, guessed keys, malformed bytes, metacharacters, other
clients' objects. Every one gets a JSON 4xx, none a 500, none another client's data."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest
from django.conf import settings

from accounts.roles import INGEST

pytestmark = pytest.mark.django_db
TOKEN = "/api/auth/token"
RECORD = {"ts": "1530228282", "sender": "hostile", "message": {"a": 1}, "sent-from-ip": "1.2.3.4", "priority": 2}


def _claims(api_client, key: str) -> dict:
    access = api_client.post(TOKEN, {"api_key": key}, format="json").json()["access"]
    return jwt.decode(access, options={"verify_signature": False})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _me(api_client, token: str):
    return api_client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def _assert_json_401(response) -> None:
    assert response.status_code == 401, response.content
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()["error"]) == {"code", "message", "details", "request_id"}


def test_forged_jwts_are_refused(api_client, make_client):
    _, key = make_client(roles=[INGEST])
    claims = _claims(api_client, key)
    signing_key = settings.SIMPLE_JWT["SIGNING_KEY"]
    forged = {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "wrong key": jwt.encode(claims, "not-our-key-" * 4, algorithm="HS256"),
        "expired": jwt.encode({**claims, "exp": int(time.time()) - 10}, signing_key, algorithm="HS256"),
        "refresh as access": jwt.encode({**claims, "token_type": "refresh"}, signing_key, algorithm="HS256"),
        "other client claimed": f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({**claims, 'client_id': 1})}."
        + "x" * 43,
        "garbage": "a.b.c",
        "NUL": "abc\x00def",
    }
    for what, token in forged.items():
        response = _me(api_client, token)
        assert response.status_code == 401, (what, response.content)


def test_a_guessed_secret_on_a_real_key_prefix_is_refused(api_client, make_client):
    _, key = make_client()
    prefix = key.split("_")[1]
    for secret in ("A" * 43, key.split("_", 2)[2][:-1] + "B", key.split("_", 2)[2].swapcase()):
        _assert_json_401(api_client.get("/api/me", HTTP_X_TOKEN=f"maas_{prefix}_{secret}"))
    assert api_client.get("/api/me", HTTP_X_TOKEN=key).status_code == 200


@pytest.mark.parametrize(
    "query",
    ["%", "_", "%%%_%", "' OR 1=1 --", '"; DROP TABLE memes_meme; --', "\\", "cat\x00dog", "🙂" * 50, "[[[", "$where"],
)
def test_metacharacters_in_query_are_plain_text(api_client, make_client, query):
    _, key = make_client(tokens=5)
    response = api_client.get("/api/memes", {"query": query}, HTTP_X_TOKEN=key)
    assert response.status_code in (200, 400, 404), (query, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe\xfd", b'{"api_key": "\xc3\x28"}', b'{"api_key": "a\x00b"}', b'{"api_key": "\\u0000"}', b"\x00" * 100],
    ids=["not-utf8", "bad-utf8-in-string", "raw-NUL", "escaped-NUL", "NULs"],
)
@pytest.mark.parametrize("path", ["/api/auth/token", "/api/auth/token/refresh"])
def test_bad_bytes_in_bodies_are_4xx(api_client, path, body):
    response = api_client.generic("POST", path, body, content_type="application/json")
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")


def test_bad_bytes_in_an_ingest_body_are_4xx(api_client, make_client):
    _, key = make_client(roles=[INGEST])
    for body in (
        b"\xff\xfe",
        b'{"ts": "1530228282", "sender": "a\x00b"}',
        json.dumps({**RECORD, "sender": "\u0000"}).encode(),
    ):
        response = api_client.generic("POST", "/api/ingest", body, content_type="application/json", HTTP_X_TOKEN=key)
        assert 400 <= response.status_code < 500, (body, response.status_code, response.content[:300])


def test_an_oversized_header_value_is_refused_not_crashed(api_client):
    response = api_client.get("/api/me", HTTP_X_TOKEN="maas_" + "a" * 100_000)
    _assert_json_401(response)
    response = api_client.get("/api/me", HTTP_AUTHORIZATION="Bearer " + "a" * 100_000)
    _assert_json_401(response)


def test_no_client_reads_another_clients_objects(api_client, make_client):
    _, key_a = make_client(roles=[INGEST], tokens=5)
    client_b, key_b = make_client(roles=[INGEST], tokens=5)
    accepted = api_client.post("/api/ingest", RECORD, format="json", HTTP_X_TOKEN=key_a)
    assert accepted.status_code == 202
    record_id = accepted.json()["id"]
    assert api_client.get(f"/api/ingest/{record_id}", HTTP_X_TOKEN=key_a).status_code == 200
    # B: the same 404 as for an id that does not exist, so existence is not revealed either.
    theirs = api_client.get(f"/api/ingest/{record_id}", HTTP_X_TOKEN=key_b)
    nobody = api_client.get(f"/api/ingest/{uuid.uuid4()}", HTTP_X_TOKEN=key_b)
    assert theirs.status_code == nobody.status_code == 404
    assert theirs.json()["error"]["code"] == nobody.json()["error"]["code"]
    # Usage and balance of another client: staff only.
    for path in ("/api/usage", "/api/balance"):
        response = api_client.get(path, {"client": client_b.pk}, HTTP_X_TOKEN=key_a)
        assert response.status_code == 403, (path, response.content)
