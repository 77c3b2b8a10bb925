"""Logs are JSON lines that follow a request: its id (a sane X-Request-ID, else a new one) is
returned as a header and in error bodies, is on the access line with route, status, duration and
client, and travels with an ingest record to the worker's line. No API key, JWT or password is
ever written, whatever the way in."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client as DjangoClient
from rest_framework.test import APIClient

from accounts.roles import INGEST
from accounts.services import client_create
from config.logs import JsonFormatter
from ingest.models import IngestOutbox
from ingest.tasks import ingest_store_batch
from ingest.validation import EXAMPLE_RECORD

pytestmark = pytest.mark.django_db


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("event") == event]


@pytest.fixture
def logs() -> Iterator[Captured]:
    """Every log record of the test, at every level, rendered by the configured JSON formatter."""
    formatter = next(h.formatter for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_a_sane_request_id_is_returned_in_the_header_the_error_and_the_access_line(logs: Captured) -> None:
    response = APIClient().get("/api/memes?query=cat", HTTP_X_REQUEST_ID="lb-7f3a9c2e-0001")
    assert response.status_code == 401
    assert response["X-Request-ID"] == "lb-7f3a9c2e-0001"
    assert response.json()["error"]["request_id"] == "lb-7f3a9c2e-0001"
    (line,) = [x for x in logs.events("request") if x.get("request_id") == "lb-7f3a9c2e-0001"]
    assert line["route"] == "api/memes" and line["status"] == 401 and line["method"] == "GET"
    assert line["level"] == "info" and line["logger"] == "maas.access"
    assert isinstance(line["duration_ms"], float) and line["client_id"] is None


@pytest.mark.parametrize("sent", ["short", "x" * 200, "has space in it", "new\nline-inside", 'quote"d-id-123'])
def test_an_insane_request_id_is_replaced_by_a_new_one(sent: str) -> None:
    response = APIClient().get("/api/nowhere", HTTP_X_REQUEST_ID=sent)
    assert response.status_code == 404
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert response.json()["error"]["request_id"] == response["X-Request-ID"]


def test_each_request_gets_its_own_id_and_the_client_is_on_the_line(logs: Captured, make_client: Any) -> None:
    client, key = make_client()
    api = APIClient()
    api.credentials(HTTP_X_TOKEN=key)
    ids = {api.get("/api/balance")["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3
    lines = [x for x in logs.events("request") if x.get("request_id") in ids]
    assert {x["client_id"] for x in lines} == {client.pk} and {x["status"] for x in lines} == {200}


def test_the_request_id_travels_with_an_ingest_record_to_the_worker_line(logs: Captured, make_client: Any) -> None:
    _, key = make_client(roles=[INGEST])
    api = APIClient()
    api.credentials(HTTP_X_TOKEN=key)
    accepted = api.post("/api/ingest", EXAMPLE_RECORD, format="json", HTTP_X_REQUEST_ID="sender-req-000042")
    assert accepted.status_code == 202
    (queued,) = IngestOutbox.objects.filter(uuid=accepted.json()["id"]).values_list("payload", flat=True)
    assert queued["request_id"] == "sender-req-000042"

    ingest_store_batch.fn([queued])  # what the worker runs for the relayed message
    (line,) = [x for x in logs.events("stored batch") if "sender-req-000042" in x.get("request_ids", [])]
    assert line["records"] == 1 and line["logger"] == "maas.ingest"


def test_no_api_key_jwt_or_password_is_ever_logged(logs: Captured, make_client: Any) -> None:
    password = "Correct-Horse-Battery-9"
    _, key = make_client("logged-client")
    client_create(name="with-password", password=password)
    User.objects.create_superuser("ops-admin", "ops@example.com", password)
    api = APIClient()

    # API key: in the header, and a wrong one of the right shape.
    assert api.get("/api/me", HTTP_X_TOKEN=key).status_code == 200
    wrong_key = key[:-6] + "AAAAAA"
    assert api.get("/api/me", HTTP_X_TOKEN=wrong_key).status_code == 401
    # JWT: obtained with the key and with username/password, used, refreshed, and a tampered one.
    pair = api.post("/api/auth/token", {"api_key": key}, format="json").json()
    by_password = api.post("/api/auth/token", {"username": "with-password", "password": password}, format="json")
    assert by_password.status_code == 200
    assert api.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {pair['access']}").status_code == 200
    assert api.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {pair['access']}x").status_code == 401
    refreshed = api.post("/api/auth/token/refresh", {"refresh": pair["refresh"]}, format="json").json()
    assert api.post("/api/auth/token/refresh", {"refresh": pair["refresh"]}, format="json").status_code == 401
    assert api.post("/api/auth/token", {"username": "with-password", "password": password + "!"}, format="json")
    # The admin's login form, right and wrong.
    browser = DjangoClient()
    assert browser.post("/admin/login/", {"username": "ops-admin", "password": password + "?"}).status_code == 200
    assert browser.post("/admin/login/", {"username": "ops-admin", "password": password}).status_code == 302
    # A logger handed a secret by mistake is caught by the redaction too.
    logging.getLogger("maas.test").warning("oops key=%s token=%s", key, pair["access"])

    secrets = [key, wrong_key, password, pair["access"], pair["refresh"], refreshed["access"], refreshed["refresh"]]
    secrets += [by_password.json()["access"], by_password.json()["refresh"]]
    secrets += [key.split("_", 2)[2]]  # the key's secret part alone (it may itself contain "_")
    text = logs.text
    assert len(logs.lines()) >= 12  # every line is JSON, and the calls above were logged
    for secret in secrets:
        assert secret not in text
    assert "[redacted]" in text  # the deliberate mistake was blanked, not dropped


def test_structlog_loggers_write_the_same_fields(capsys: pytest.CaptureFixture[str]) -> None:
    import structlog

    from config.logs import _request_id

    token = _request_id.set("structlog-req-01")
    try:
        structlog.get_logger("maas.test").info("native", answer=42)
    finally:
        _request_id.reset(token)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "native" and line["answer"] == 42 and line["level"] == "info"
    assert line["request_id"] == "structlog-req-01" and line["ts"].endswith("Z")
