"""Chunked request bodies on the DRF endpoints are read (finding 9: they were taken as empty, a
misleading 400), through the production server, which decodes the chunking."""

from __future__ import annotations

import json

import pytest
import requests

from tests.billing.servers import running_servers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _chunks(body: bytes):
    for start in range(0, len(body), 7):  # several small chunks
        yield body[start : start + 7]


def test_a_chunked_token_request_is_read(make_client):
    _, key = make_client()
    body = json.dumps({"api_key": key}).encode()
    with running_servers(1) as (server,):
        response = requests.post(
            server.url("/api/auth/token"),
            data=_chunks(body),  # a generator: requests sends Transfer-Encoding: chunked
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.json()["access"]
        too_big = b'{"api_key": "' + b"x" * 70_000 + b'"}'
        refused = requests.post(
            server.url("/api/auth/token"),
            data=_chunks(too_big),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert refused.status_code == 413, refused.text
        assert refused.json()["error"]["code"] == "payload_too_large"
