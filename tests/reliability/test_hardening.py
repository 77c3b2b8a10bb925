"""Deployment hardening (finding 10): /metrics only for the monitoring network, HSTS and Secure
cookies in production, no password in the Kubernetes ConfigMap."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client as HttpClient

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_metrics_are_served_to_the_scraper_network():
    assert HttpClient(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert HttpClient().get("/metrics").status_code == 200  # loopback


@pytest.mark.django_db
@pytest.mark.parametrize(
    "meta",
    [
        {"REMOTE_ADDR": "198.51.100.20"},  # the public
        # Through the ingress (a private peer address) on behalf of anyone: refused too.
        {"REMOTE_ADDR": "10.0.0.9", "HTTP_X_FORWARDED_FOR": "198.51.100.20"},
        {"REMOTE_ADDR": "10.0.0.9", "HTTP_FORWARDED": "for=198.51.100.20"},
    ],
)
def test_metrics_are_refused_to_anyone_else(meta):
    response = HttpClient(**meta).get("/metrics")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert b"django_http" not in response.content


def _deploy_check(**env: str) -> str:
    environment = {**os.environ, "DJANGO_SECRET_KEY": "x" * 60, "DJANGO_DEBUG": "false", **env}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    return result.stdout + result.stderr


def test_production_settings_send_hsts_and_secure_cookies():
    production = _deploy_check(MAAS_HTTPS="true")
    for warning in ("security.W004", "security.W012", "security.W016"):  # HSTS, session and CSRF cookies
        assert warning not in production, production
    # The embedded default (plain HTTP on 127.0.0.1) leaves them off, and Django's check says so.
    assert "security.W004" in _deploy_check(MAAS_HTTPS="false")


def test_the_configmap_holds_no_password():
    configmap = (ROOT / "deploy" / "k8s" / "base" / "config.yaml").read_text()
    data = [line for line in configmap.splitlines() if line.startswith("  ") and not line.lstrip().startswith("#")]
    assert data
    for line in data:
        assert not re.search(r"://[^/\s]*:[^@\s]*@", line), line  # user:password@ in a URL
        assert "BROKER_URL" not in line and "DATABASE_URL" not in line, line
