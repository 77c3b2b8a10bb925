"""POST /api/ingest and GET /api/ingest/{id}: status codes, error shapes, ids."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

import ingest.services
from ingest.models import IngestOutbox
from tests.ingest.conftest import VALID, post_record

pytestmark = pytest.mark.django_db

LIMIT = 64 * 1024


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details", "request_id"}, body
    return body["error"]


def queued_records() -> list[dict[str, Any]]:
    """Records accepted and waiting in the outbox."""
    return [row.payload for row in IngestOutbox.objects.order_by("received_at")]


# --- auth ----------------------------------------------------------------------------------------
def test_posting_without_credentials_is_401(api_client: APIClient) -> None:
    response = post_record(api_client, VALID)
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_posting_without_the_ingest_role_is_403(make_client: Any) -> None:
    _, raw_key = make_client(roles=[])
    api = APIClient()
    api.credentials(HTTP_X_TOKEN=raw_key)
    response = post_record(api, VALID)
    assert response.status_code == 403
    assert "ingest" in error_of(response)["message"]


def test_reading_a_status_needs_the_ingest_role(make_client: Any, ingest_api: Any) -> None:
    api, _ = ingest_api
    record_id = post_record(api, VALID).json()["id"]
    _, raw_key = make_client(roles=[])
    other = APIClient()
    other.credentials(HTTP_X_TOKEN=raw_key)
    assert other.get(f"/api/ingest/{record_id}").status_code == 403
    assert APIClient().get(f"/api/ingest/{record_id}").status_code == 401


# --- accepted -------------------------------------------------------------------------------------
def test_a_valid_record_is_accepted_with_an_id_and_committed_to_the_outbox(ingest_api: Any) -> None:
    api, client = ingest_api
    response = post_record(api, VALID)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    record_id = uuid.UUID(body["id"])
    assert response["Location"] == f"/api/ingest/{record_id}"
    (queued,) = queued_records()
    assert queued["id"] == str(record_id)
    assert queued["client"] == client.pk
    assert queued["ts"] == 1530228282  # the digit string, as an integer
    assert queued["sender"] == "testy-test-service"
    assert queued["message"] == VALID["message"]
    assert (queued["ip"], queued["priority"]) == ("1.2.3.4", 2)
    status = api.get(f"/api/ingest/{record_id}")
    assert status.status_code == 200
    assert status.json()["status"] == "queued"


def test_each_accepted_record_gets_its_own_id(ingest_api: Any) -> None:
    api, _ = ingest_api
    ids = {post_record(api, VALID).json()["id"] for _ in range(5)}
    assert len(ids) == 5


def test_an_accept_costs_one_query_the_outbox_insert(ingest_api: Any, django_assert_num_queries: Any) -> None:
    api, _ = ingest_api
    assert post_record(api, VALID).status_code == 202  # warm: credentials cached, key use stamped
    with django_assert_num_queries(1):  # authentication from the cache, the record in one INSERT
        assert post_record(api, VALID).status_code == 202
    with django_assert_num_queries(2):  # with a key: is it a retry of a stored record? then the INSERT
        assert post_record(api, VALID, HTTP_IDEMPOTENCY_KEY="accept-once").status_code == 202


def test_charset_utf8_is_accepted(ingest_api: Any) -> None:
    api, _ = ingest_api
    assert post_record(api, VALID, content_type="application/json; charset=UTF-8").status_code == 202


# --- 415 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content_type",
    [
        "",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/jsonp",
        "text/json",
    ],
)
def test_a_content_type_other_than_json_is_415(ingest_api: Any, content_type: str) -> None:
    api, _ = ingest_api
    response = post_record(api, VALID, content_type=content_type)
    assert response.status_code == 415
    error = error_of(response)
    assert error["code"] == "unsupported_media_type"
    assert error["details"]["expected"] == "application/json"


# --- 413 ------------------------------------------------------------------------------------------
def padded(size: int) -> bytes:
    """A valid record padded with trailing spaces to exactly ``size`` bytes."""
    body = json.dumps(VALID).encode()
    return body + b" " * (size - len(body))


def test_a_body_exactly_at_the_limit_is_accepted(ingest_api: Any) -> None:
    api, _ = ingest_api
    assert post_record(api, padded(LIMIT)).status_code == 202


def test_a_body_one_byte_over_the_limit_is_413(ingest_api: Any) -> None:
    api, _ = ingest_api
    response = post_record(api, padded(LIMIT + 1))
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "payload_too_large"
    assert error["details"]["limit_bytes"] == LIMIT


class CountingStream(io.RawIOBase):
    """A request body that counts what the server reads of it."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        self.remaining -= size
        self.read_bytes += size
        return b" " * size


def test_a_big_body_with_content_length_is_413_without_being_read(ingest_api: Any) -> None:
    api, _ = ingest_api
    stream = CountingStream(10 * 1024 * 1024)
    response = api.generic(
        "POST",
        "/api/ingest",
        b"",
        content_type="application/json",
        CONTENT_LENGTH=str(10 * 1024 * 1024),
        **{"wsgi.input": stream},
    )
    assert response.status_code == 413
    assert stream.read_bytes == 0


def post_chunked(api: APIClient, stream: Any, *, decoded_by_server: bool = True) -> Any:
    """POST a body sent with ``Transfer-Encoding: chunked`` (no Content-Length). ``decoded_by_server``:
    the WSGI server has undone the chunking and says so (``wsgi.input_terminated``), as granian and
    gunicorn do."""
    environ: dict[str, Any] = {"wsgi.input": stream}
    if decoded_by_server:
        environ["wsgi.input_terminated"] = True
    return api.generic(
        "POST",
        "/api/ingest",
        b"",
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **environ,
    )


def test_a_big_chunked_body_is_413_and_read_no_further_than_the_limit(ingest_api: Any) -> None:
    api, _ = ingest_api
    stream = CountingStream(10 * 1024 * 1024)
    response = post_chunked(api, stream)
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
    assert stream.read_bytes <= LIMIT + 1
    assert queued_records() == []


def test_a_small_chunked_body_is_read_and_accepted(ingest_api: Any) -> None:
    api, _ = ingest_api
    response = post_chunked(api, io.BytesIO(json.dumps(VALID).encode()))
    assert response.status_code == 202


def test_a_chunked_body_the_server_cannot_decode_is_411(ingest_api: Any) -> None:
    api, _ = ingest_api
    response = post_chunked(api, io.BytesIO(b"5\r\nhello\r\n0\r\n\r\n"), decoded_by_server=False)
    assert response.status_code == 411
    assert error_of(response)["code"] == "length_required"


# --- 400 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [b"", b"{", b"not json", b'{"ts": NaN}', b"\xff\xfe"])
def test_a_body_that_is_not_json_is_400_invalid_json(ingest_api: Any, body: bytes) -> None:
    api, _ = ingest_api
    response = post_record(api, body)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


@pytest.mark.parametrize("body", [b"[]", b'[{"ts": 1}]', b'"text"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object_is_400_not_an_object(ingest_api: Any, body: bytes) -> None:
    api, _ = ingest_api
    response = post_record(api, body)
    assert response.status_code == 400
    assert error_of(response)["code"] == "not_an_object"


def test_a_rejected_record_lists_every_violation_by_field(ingest_api: Any) -> None:
    api, _ = ingest_api
    body = {
        "ts": True,
        "sender": "",
        "message": [],
        "sent-from-ip": "01.2.3.4",
        "priority": 1.5,
        "colour": "red",
    }
    response = post_record(api, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert set(error["details"]) == {"ts", "sender", "message", "sent-from-ip", "priority", "colour"}
    assert error["details"]["colour"] == ["Unknown field."]
    for field in ("ts", "sender", "message", "sent-from-ip", "priority"):
        assert isinstance(error["details"][field], list) and error["details"][field], field
    assert queued_records() == []


def test_missing_required_fields_are_each_listed(ingest_api: Any) -> None:
    api, _ = ingest_api
    response = post_record(api, {"priority": 1})
    assert response.status_code == 400
    assert error_of(response)["details"] == {
        "ts": ["This field is required."],
        "sender": ["This field is required."],
        "message": ["This field is required."],
    }


def test_a_duplicated_key_is_400_naming_it(ingest_api: Any) -> None:
    api, _ = ingest_api
    response = post_record(api, b'{"ts": 1530228282, "ts": "1530228282", "sender": "s", "message": {"a": 1}}')
    assert response.status_code == 400
    assert error_of(response)["details"] == {"ts": ["Given more than once."]}


# --- idempotency ------------------------------------------------------------------------------------
def test_the_same_idempotency_key_gets_the_same_id(ingest_api: Any, make_client: Any) -> None:
    api, _ = ingest_api
    first = post_record(api, VALID, HTTP_IDEMPOTENCY_KEY="order-42").json()["id"]
    again = post_record(api, VALID, HTTP_IDEMPOTENCY_KEY="order-42").json()["id"]
    other = post_record(api, VALID, HTTP_IDEMPOTENCY_KEY="order-43").json()["id"]
    assert first == again != other
    assert len(queued_records()) == 2
    _, raw_key = make_client(roles=["ingest"])
    api2 = APIClient()
    api2.credentials(HTTP_X_TOKEN=raw_key)
    assert post_record(api2, VALID, HTTP_IDEMPOTENCY_KEY="order-42").json()["id"] != first


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
def test_a_malformed_idempotency_key_is_400(ingest_api: Any, key: str) -> None:
    api, _ = ingest_api
    response = post_record(api, VALID, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in error_of(response)["details"]


# --- status --------------------------------------------------------------------------------------
def test_another_clients_record_is_404(ingest_api: Any, make_client: Any) -> None:
    api, _ = ingest_api
    record_id = post_record(api, VALID).json()["id"]
    _, raw_key = make_client(roles=["ingest"])
    other = APIClient()
    other.credentials(HTTP_X_TOKEN=raw_key)
    response = other.get(f"/api/ingest/{record_id}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_an_unknown_id_is_404(ingest_api: Any) -> None:
    api, _ = ingest_api
    assert api.get(f"/api/ingest/{uuid.uuid4()}").status_code == 404


def test_a_malformed_id_is_a_json_404(ingest_api: Any) -> None:
    api, _ = ingest_api
    response = api.get("/api/ingest/not-a-uuid")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- the database cannot take it --------------------------------------------------------------
def test_a_database_outage_is_503_with_retry_after_and_nothing_accepted(
    ingest_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _ = ingest_api

    def database_down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(ingest.services, "_outbox_insert", database_down)  # the accept's one write
    monkeypatch.setattr(IngestOutbox.objects, "bulk_create", database_down)
    response = post_record(api, VALID)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    error = error_of(response)
    assert error["code"] == "ingest_unavailable"
    assert error["details"] == {"retry_after_seconds": 5, "reason": "database unavailable"}
    monkeypatch.undo()
    assert queued_records() == []
