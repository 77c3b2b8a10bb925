"""Finding 9: ingest and the paid meme calls read ``Idempotency-Key`` with one rule, so the same bad
key gets the same 400 (same code, same message) on both, and the same good key is accepted by both."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.roles import INGEST
from config.idempotency import IDEMPOTENCY_RULE
from tests.ingest.conftest import VALID

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(make_client: Any) -> APIClient:
    _, key = make_client(roles=[INGEST], tokens=100)
    client = APIClient()
    client.credentials(HTTP_X_TOKEN=key)
    return client


def _ingest(api: APIClient, key: str) -> Any:
    return api.post("/api/ingest", VALID, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _memes(api: APIClient, key: str) -> Any:
    return api.get("/api/memes", {"query": "pizza"}, HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "naïve", "tab\there", "in side"])
def test_the_same_bad_key_gets_the_same_400_on_ingest_and_memes(api: APIClient, key: str) -> None:
    ingest, memes = _ingest(api, key), _memes(api, key)
    assert ingest.status_code == memes.status_code == 400
    assert ingest["Content-Type"].startswith("application/json")
    # Everything but the per-request id: code, message, details.
    first, second = (dict(r.json()["error"], request_id=None) for r in (ingest, memes))
    assert first == second
    assert first["details"] == {"Idempotency-Key": [IDEMPOTENCY_RULE]}


@pytest.mark.parametrize("key", ["x" * 255, " padded ", "0b9c6c8e-6d0c-4f5e-9a57-4c1d2e3f4a5b"])
def test_the_same_good_key_is_accepted_on_both(api: APIClient, key: str) -> None:
    assert _ingest(api, key).status_code == 202
    assert _memes(api, key).status_code != 400


def test_every_operation_taking_the_key_documents_it_with_the_same_text_and_a_400(api_client: APIClient) -> None:
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    taking = {
        (path, method): operation
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    assert {("/api/ingest", "post"), ("/api/memes", "get"), ("/api/memes/{meme_id}", "get")} <= set(taking)
    texts = {
        next(p["description"] for p in operation["parameters"] if p["name"] == "Idempotency-Key")
        for operation in taking.values()
    }
    assert len(texts) == 1 and IDEMPOTENCY_RULE in texts.pop()
    assert all("400" in operation["responses"] for operation in taking.values()), sorted(taking)
