"""create_client and seed_demo, as operators and scripts use them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from accounts.models import Client
from accounts.roles import BILLING_TOPUP, INGEST, PREMIUM_AI
from billing.models import LedgerEntry, TokenAccount

pytestmark = pytest.mark.django_db


def _create(*args: str) -> list[str]:
    out = StringIO()
    call_command("create_client", *args, stdout=out)
    return out.getvalue().splitlines()


def test_create_client_prints_the_new_key_alone_on_the_last_line(api_client):
    lines = _create("acme")
    key = lines[-1]
    assert key.startswith("maas_") and " " not in key
    me = api_client.get("/api/me", HTTP_X_TOKEN=key)
    assert me.status_code == 200 and me.json()["client_id"] == Client.objects.get(name="acme").pk


def test_create_client_with_tokens_credits_them_through_the_ledger(api_client):
    key = _create("rich", "--tokens", "500")[-1]
    client = Client.objects.get(name="rich")
    assert TokenAccount.objects.get(client=client).balance == 500
    entry = LedgerEntry.objects.get(account_id=client.pk)
    assert (entry.kind, entry.amount, entry.balance_after) == ("credit", 500, 500)
    assert api_client.get("/api/balance", HTTP_X_TOKEN=key).json()["balance"] == 500


def test_create_client_grants_premium_and_roles(api_client):
    key = _create("vip", "--premium", "--role", BILLING_TOPUP, "--role", INGEST)[-1]
    roles = api_client.get("/api/me", HTTP_X_TOKEN=key).json()["roles"]
    assert roles == sorted([PREMIUM_AI, BILLING_TOPUP, INGEST])


def test_create_client_refuses_a_duplicate_name_and_creates_nothing_more():
    _create("twice", "--tokens", "5")
    with pytest.raises(CommandError, match="already exists"):
        _create("twice", "--tokens", "5")
    assert Client.objects.filter(name="twice").count() == 1
    assert LedgerEntry.objects.count() == 1


def test_create_client_refuses_negative_tokens_and_unknown_roles():
    with pytest.raises(CommandError, match="--tokens"):
        _create("neg", "--tokens", "-1")
    with pytest.raises(CommandError):
        _create("odd", "--role", "admin")
    assert not Client.objects.filter(name__in=["neg", "odd"]).exists()


def test_seed_demo_is_idempotent(tmp_path, api_client):
    with override_settings(VAR_DIR=tmp_path):
        first, second = StringIO(), StringIO()
        call_command("seed_demo", stdout=first)
        call_command("seed_demo", stdout=second)
    assert first.getvalue() == second.getvalue()  # same keys shown again
    assert Client.objects.filter(name__in=["demo", "demo-premium"]).count() == 2
    assert LedgerEntry.objects.count() == 2  # credited once each
    demo_key = next(line.split("X-Token: ")[1] for line in first.getvalue().splitlines() if line.startswith("demo "))
    assert api_client.get("/api/balance", HTTP_X_TOKEN=demo_key).json()["balance"] == 1000
    premium_key = next(line.split("X-Token: ")[1] for line in first.getvalue().splitlines() if "demo-premium" in line)
    assert PREMIUM_AI in api_client.get("/api/me", HTTP_X_TOKEN=premium_key).json()["roles"]


def test_seed_demo_issues_a_new_key_when_the_key_file_is_lost(tmp_path, api_client):
    with override_settings(VAR_DIR=tmp_path):
        call_command("seed_demo", stdout=StringIO())
        (tmp_path / "demo_keys").unlink()
        out = StringIO()
        call_command("seed_demo", stdout=out)
    assert LedgerEntry.objects.count() == 2  # no second credit
    demo_key = next(line.split("X-Token: ")[1] for line in out.getvalue().splitlines() if line.startswith("demo "))
    assert api_client.get("/api/me", HTTP_X_TOKEN=demo_key).status_code == 200
