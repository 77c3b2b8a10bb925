"""What the OpenAPI schema promises, pinned one finding at a time (issue 11, finding 9 and what the
schemathesis run of tests/reliability/test_schema_fuzz.py found). In process, no services needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.roles import ALL_ROLES
from tests.memes.loc_files import catalogue_import_into_db

pytestmark = pytest.mark.django_db
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ERROR_REF = "#/components/schemas/ErrorEnvelope"


@pytest.fixture
def schema(api_client: APIClient) -> dict[str, Any]:
    return api_client.get("/api/schema/", {"format": "json"}).json()


@pytest.fixture
def api(make_client: Any) -> APIClient:
    _, key = make_client(roles=ALL_ROLES, tokens=1000)
    client = APIClient()
    client.credentials(HTTP_X_TOKEN=key)
    return client


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]


def _component(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_every_error_response_is_the_json_envelope(schema: dict[str, Any]) -> None:
    # Errors are JSON whatever was accepted: no `image/png` error bodies, no error without a body schema.
    for path, method, operation in _operations(schema):
        for code, response in operation["responses"].items():
            if code[0] in "45":
                assert list(response.get("content", {})) == ["application/json"], (path, method, code)
                assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, (path, method)


def test_the_common_errors_are_documented_where_they_can_happen(schema: dict[str, Any]) -> None:
    for path, method, operation in _operations(schema):
        codes = set(operation["responses"])
        if any(operation.get("security", [])):
            assert {"401", "429", "503"} <= codes, (path, method, codes)
            assert "Retry-After" in operation["responses"]["429"]["headers"]
            assert "Retry-After" in operation["responses"]["503"]["headers"]
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= codes, (path, method, codes)
        if any(p["in"] in ("query", "header") for p in operation.get("parameters", [])):
            assert "400" in codes, (path, method, codes)
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            assert "404" in codes, (path, method, codes)
        # Found by hand, not by the fuzz (it keeps to the documented media types): DRF's 406.
        assert "406" in codes, (path, method, codes)
    # The liveness probes answer from the process alone: no 503 promised there.
    assert set(schema["paths"]["/api/health"]["get"]["responses"]) == {"200", "406"}


def test_the_webhook_lists_are_documented_as_the_objects_they_are(schema: dict[str, Any], api: APIClient) -> None:
    # They were documented as bare arrays; the answers are {"webhooks": [...]} and {"deliveries": [...]}.
    for path, key in (("/api/webhooks", "webhooks"), ("/api/webhooks/deliveries", "deliveries")):
        documented = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        component = _component(schema, documented["$ref"])
        assert component["type"] == "object" and component["properties"][key]["type"] == "array"
        assert component["required"] == [key]
        answer = api.get(path)
        assert answer.status_code == 200 and list(answer.json()) == [key]


def test_the_usage_export_documents_both_of_its_formats(schema: dict[str, Any], api: APIClient) -> None:
    content = schema["paths"]["/api/usage/export"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"text/csv", "application/json"}
    body = _component(schema, content["application/json"]["schema"]["$ref"])
    assert set(body["properties"]) == {"client_id", "from", "to", "entries"}
    assert api.get("/api/usage/export")["Content-Type"].startswith("text/csv")
    as_json = api.get("/api/usage/export", {"format": "json"})
    assert as_json["Content-Type"] == "application/json"
    assert set(json.loads(b"".join(as_json.streaming_content))) == set(body["properties"])
    # Asking for the CSV by its media type was a 406; an error stays the JSON envelope.
    by_accept = api.get("/api/usage/export", HTTP_ACCEPT="text/csv")
    assert by_accept.status_code == 200 and by_accept["Content-Type"].startswith("text/csv")
    refused = api.get("/api/usage/export", {"to": "yesterday"}, HTTP_ACCEPT="text/csv")
    assert refused.status_code == 400 and refused["Content-Type"] == "application/json"
    assert refused.json()["error"]["code"] == "validation_error"


def test_an_unacceptable_accept_is_the_documented_406(api: APIClient) -> None:
    refused = api.get("/api/balance", HTTP_ACCEPT="text/html")
    assert refused.status_code == 406 and refused.json()["error"]["code"] == "not_acceptable"


def test_format_is_documented_where_honoured_and_honoured_where_documented(
    schema: dict[str, Any], api: APIClient, tmp_path: Path
) -> None:
    catalogue_import_into_db(tmp_path)

    def format_parameter(path: str) -> dict[str, Any] | None:
        parameters = schema["paths"][path]["get"].get("parameters", [])
        return next((p for p in parameters if p["name"] == "format"), None)

    # DRF's renderer override (`format=json|png`) was documented on the by-id calls and ignored there.
    for path in ("/api/memes", "/api/memes/{meme_id}"):
        parameter = format_parameter(path)
        assert parameter is not None and parameter["schema"]["enum"] == ["json", "image"], path
    assert format_parameter("/api/memes/{meme_id}.png") is None  # always a PNG

    meme = api.get("/api/memes", {"query": "pizza"}).json()["memes"][0]
    as_png = api.get(f"/api/memes/{meme['id']}", {"format": "image"})
    assert as_png.status_code == 200 and as_png["Content-Type"] == "image/png"
    assert as_png.content.startswith(PNG_SIGNATURE)
    assert api.get(f"/api/memes/{meme['id']}", {"format": "json"}).json()["memes"][0]["id"] == meme["id"]
    assert api.get(f"/api/memes/{meme['id']}", {"format": "png"}).status_code == 400
    by_id = schema["paths"]["/api/memes/{meme_id}"]["get"]["responses"]["200"]["content"]
    assert by_id["image/png"]["schema"] == {"type": "string", "format": "binary"}


def test_the_ingest_record_is_documented_field_by_field(schema: dict[str, Any], make_client: Any) -> None:
    # It was "any object": schemathesis' valid records with an extra field were refused (400), rightly.
    from accounts.roles import INGEST
    from ingest.validation import EXAMPLE_RECORD, FIELDS, REQUIRED

    documented = schema["paths"]["/api/ingest"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert list(documented["properties"]) == list(FIELDS)
    assert documented["required"] == list(REQUIRED) and documented["additionalProperties"] is False
    _, key = make_client(roles=[INGEST])
    api = APIClient()
    api.credentials(HTTP_X_TOKEN=key)
    refused = api.post("/api/ingest", {**EXAMPLE_RECORD, "extra": 1}, format="json")
    assert refused.status_code == 400 and "extra" in refused.json()["error"]["details"]


def test_the_idempotency_key_rule_is_in_its_schema_too(schema: dict[str, Any]) -> None:
    # It was any string: schemathesis sent "valid" keys the server refuses (400).
    import re

    for path, method, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "Idempotency-Key":
                pattern = re.compile(parameter["schema"]["pattern"])
                assert parameter["schema"]["maxLength"] == 255, (path, method)
                for bad in ("", "x" * 256, "naïve", "tab\there", "in side"):
                    assert not pattern.match(bad), (path, method, bad)
                for good in ("x" * 255, "0b9c6c8e-6d0c-4f5e-9a57-4c1d2e3f4a5b", "PO-2026/42"):
                    assert pattern.match(good), (path, method, good)


def test_every_link_leads_to_an_operation_and_its_parameters(schema: dict[str, Any]) -> None:
    # Schemathesis' stateful phase follows these (it found none before config.schema.response_links).
    by_id = {op["operationId"]: op for _, _, op in _operations(schema)}
    links = [
        (op["operationId"], name, link)
        for _, _, op in _operations(schema)
        for response in op["responses"].values()
        for name, link in response.get("links", {}).items()
    ]
    assert len(links) >= 8
    for source, name, link in links:
        target = by_id[link["operationId"]]
        taken = {p["name"] for p in target.get("parameters", [])}
        assert set(link.get("parameters", {})) <= taken, (source, name)
        if "requestBody" in link:
            body = target["requestBody"]["content"]["application/json"]["schema"]
            properties = _component(schema, body["$ref"])["properties"] if "$ref" in body else body["properties"]
            assert set(link["requestBody"]) <= set(properties), (source, name)


def test_a_role_guarded_operation_documents_its_403(schema: dict[str, Any], make_client: Any) -> None:
    # The fuzz, as a client without roles, got an undocumented 403 from GET /api/ingest/{id}.
    for path, method in (("/api/ingest/{record_id}", "get"), ("/api/ingest", "post"), ("/api/billing/topups", "post")):
        assert "403" in schema["paths"][path][method]["responses"], (path, method)
    _, key = make_client()
    refused = APIClient().get("/api/ingest/2c96fb89-726c-4757-860a-8514806d5e2b", HTTP_X_TOKEN=key)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
