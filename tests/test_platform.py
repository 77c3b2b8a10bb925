"""The service's platform behaviour: liveness, readiness, docs and the one JSON error shape."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings


def test_root_and_health_answer_small_json(client):
    for url in ("/", "/api/health"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_reports_every_component(client):
    response = client.get("/api/ready")
    assert response.status_code == 200, response.content
    assert set(response.json()["components"]) == {"database", "cache", "broker"}


@pytest.mark.django_db
def test_ready_stays_green_but_names_a_down_broker(client, settings):
    # Ingest commits to the outbox in PostgreSQL and the workers relay it once the broker is back:
    # this pod still serves, so it must stay in the Service (a red probe on every pod at once
    # would turn a broker outage into a full one). The body says which part is down.
    settings.BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/api/ready")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "degraded"
    assert body["degraded"] == ["broker"]
    assert body["components"]["broker"]["ok"] is False
    assert body["components"]["database"]["ok"] is True


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_json_405(client):
    response = client.post("/api/health")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/health" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def _debug_from_a_fresh_settings_read(tmp_path, **env: str) -> str:
    # pytest-django forces DEBUG off in this process, whatever the settings say: read them afresh.
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"}
    environment.update(MAAS_VAR_DIR=str(tmp_path), **env)
    command = [sys.executable, "-c", "import config.settings as s; print(s.DEBUG)"]
    return subprocess.run(
        command, cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, check=True
    ).stdout


def test_debug_is_off_by_default(tmp_path):
    assert _debug_from_a_fresh_settings_read(tmp_path).strip() == "False"
    assert _debug_from_a_fresh_settings_read(tmp_path, DJANGO_DEBUG="true").strip() == "True"  # the read is real


def test_openapi_schema_is_valid_and_documents_every_endpoint(tmp_path):
    from django.core.management import call_command

    schema_file = tmp_path / "schema.yaml"
    # --fail-on-warn: an endpoint whose parameters or responses drf-spectacular cannot infer fails here.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema_file))
    text = schema_file.read_text()
    for path in (
        "/api/memes:",
        "/api/memes/{meme_id}.png:",
        "/api/balance:",
        "/api/usage:",
        "/api/billing/topups:",
        "/api/ingest:",
        "/api/auth/token:",
        "/api/ready:",
    ):
        assert f"  {path}" in text, path
