"""No secret at rest or in a log: after a run of real calls (keys made, tokens obtained and
refreshed, logins failed on the admin and the token endpoint, paid calls, ingest), neither a dump of
the whole database nor the log lines hold an API key, a key's secret, a JWT or a password."""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.db import connection

from accounts.roles import INGEST
from accounts.services import client_create
from config.logfilters import RedactData

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
RECORD = {"ts": "1530228282", "sender": "secrets", "message": {"a": 1}, "sent-from-ip": "1.2.3.4", "priority": 2}
PASSWORD, WRONG_PASSWORD, ADMIN_PASSWORD = "client-pass-Zq81x", "wrong-guess-Yp27w", "admin-pass-Xr63v"


def _pg_dump() -> str:
    db = connection.settings_dict
    pg_dump = shutil.which("pg_dump") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))), None)
    if pg_dump is None:
        pytest.skip("pg_dump is not installed")
    command = [str(pg_dump), "--data-only", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432)]
    command += ["-U", db["USER"] or "postgres", db["NAME"]]
    env = {"PGPASSWORD": db["PASSWORD"] or ""}
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=120, env=env).stdout


@pytest.fixture
def logs():
    """Everything the project's stderr handler and the root logger write during the test."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.addFilter(RedactData())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield sink
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def test_no_key_token_or_password_in_the_database_or_the_logs(api_client, make_client, client, logs, settings):
    settings.AXES_FAILURE_LIMIT = 100
    _, key = make_client(roles=[INGEST], tokens=10)
    client_create(name="with-password", password=PASSWORD)
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("root", password=ADMIN_PASSWORD)

    pair = api_client.post("/api/auth/token", {"api_key": key}, format="json").json()
    rotated = api_client.post("/api/auth/token/refresh", {"refresh": pair["refresh"]}, format="json").json()
    by_password = api_client.post(
        "/api/auth/token", {"username": "with-password", "password": PASSWORD}, format="json"
    ).json()
    assert (
        api_client.post(
            "/api/auth/token", {"username": "with-password", "password": WRONG_PASSWORD}, format="json"
        ).status_code
        == 401
    )
    assert client.post("/admin/login/", {"username": "root", "password": WRONG_PASSWORD}).status_code == 200
    assert client.post("/admin/login/", {"username": "root", "password": ADMIN_PASSWORD}).status_code == 302
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {rotated['access']}"}
    assert api_client.post("/api/ingest", RECORD, format="json", **bearer).status_code == 202
    assert api_client.post("/api/ingest", RECORD, format="json", HTTP_X_TOKEN=key).status_code == 202
    api_client.get("/api/memes", {"query": "cat"}, HTTP_X_TOKEN=key)
    api_client.get("/api/me", HTTP_X_TOKEN=key[:-1] + "x")  # a failed key

    secrets = {
        "API key": key,
        "key secret": key.split("_", 2)[2],
        "access token": pair["access"],
        "refresh token": pair["refresh"],
        "rotated access": rotated["access"],
        "rotated refresh": rotated["refresh"],
        "password-login access": by_password["access"],
        "password-login refresh": by_password["refresh"],
        "client password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "admin password": ADMIN_PASSWORD,
    }
    dump, written = _pg_dump(), logs.getvalue()
    assert ("with-password" in dump and "INSERT" in dump) or "COPY" in dump  # the dump is of this run's data
    for what, secret in secrets.items():
        assert secret not in dump, f"{what} in the database dump"
        assert secret not in written, f"{what} in the logs"
    # No JWT at all, not only those handed out: simplejwt stored a variant of each refresh token
    # (made before our claims were added), as valid as the one the client got.
    jwt_shape = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")
    assert not jwt_shape.search(dump), jwt_shape.search(dump)
    assert not jwt_shape.search(written), jwt_shape.search(written)
    # JWT signatures alone either (a token cut in pieces would still leak).
    for token in (pair["access"], pair["refresh"], rotated["refresh"]):
        signature = token.rsplit(".", 1)[1]
        assert signature not in dump and signature not in written
