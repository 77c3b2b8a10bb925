"""The portal's pages through Django's test client: sign-in (limited by django-axes), each page
showing the signed-in client's own data only, the key shown once, CSP and CSRF."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client as BrowserClient

from accounts.models import ApiKey
from tests.billing.helpers import assert_ledger_consistent, charge
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-portal-passphrase-7"


@pytest.fixture
def signed_in(make_client) -> Any:
    client, raw_key = make_client(name="portal-user", tokens=20)
    client.user.set_password(PASSWORD)
    client.user.save()
    browser = BrowserClient()
    response = browser.post("/portal/login/", {"username": "portal-user", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    return browser, client, raw_key


def test_pages_need_a_sign_in(client):
    for path in ("/portal/", "/portal/keys/", "/portal/usage/", "/portal/webhooks/", "/portal/playground/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/portal/login/")


def test_the_dashboard_charts_todays_calls(signed_in):
    browser, client, _ = signed_in
    charge(client.pk)
    charge(client.pk)
    page = browser.get("/portal/").content.decode()
    assert '<svg id="usage-chart"' in page
    from django.utils import timezone

    today = timezone.now().date().isoformat()
    assert f'class="bar bar-calls" data-date="{today}" data-value="2"' in page
    assert 'id="balance">18<' in page


def test_a_key_is_shown_once_and_can_be_revoked(signed_in):
    browser, client, _ = signed_in
    page = browser.post("/portal/keys/", {"name": "ci"}).content.decode()
    key = ApiKey.objects.get(client=client, name="ci")
    assert f"{key.prefix}" in page and 'id="new-key">maas_' in page
    assert 'id="new-key"' not in browser.get("/portal/keys/").content.decode()
    response = browser.post(f"/portal/keys/{key.pk}/revoke")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_another_clients_key_cannot_be_revoked(signed_in, make_client):
    browser, _, _ = signed_in
    other, _ = make_client()
    other_key = ApiKey.objects.get(client=other)
    browser.post(f"/portal/keys/{other_key.pk}/revoke")
    other_key.refresh_from_db()
    assert other_key.revoked_at is None


def test_usage_history_filters_by_date_and_downloads_csv(signed_in):
    browser, client, _ = signed_in
    charge(client.pk)
    page = browser.get("/portal/usage/").content.decode()
    assert page.count('<tr class="paid_call">') == 1 and page.count('<tr class="credit">') == 1
    assert "Nothing in this period" in browser.get("/portal/usage/", {"end": "2000-01-01"}).content.decode()
    bad = browser.get("/portal/usage/", {"start": "2026-05-05", "end": "2026-05-01"})
    assert bad.status_code == 200 and "must not be after" in bad.content.decode()
    response = browser.get("/portal/usage.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["type"] for row in rows] == ["credit", "paid_call"]


def test_webhooks_page_creates_shows_the_secret_once_and_refuses_private_targets(signed_in, settings):
    browser, client, _ = signed_in
    settings.WEBHOOKS = {**settings.WEBHOOKS, "ALLOW_PRIVATE_ADDRESSES": False}
    page = browser.post("/portal/webhooks/", {"url": "http://127.0.0.1/x", "events": ["key.created"]}).content.decode()
    assert "not a public address" in page and not Webhook.objects.exists()
    settings.WEBHOOKS = {**settings.WEBHOOKS, "ALLOW_PRIVATE_ADDRESSES": True}
    body = {"url": "http://127.0.0.1:9/x", "events": ["balance.below_threshold"], "threshold": "5"}
    page = browser.post("/portal/webhooks/", body).content.decode()
    assert 'id="webhook-secret">whsec_' in page
    hook = Webhook.objects.get(client=client)
    assert hook.threshold == 5
    assert "webhook-secret" not in browser.get("/portal/webhooks/").content.decode()
    browser.post(f"/portal/webhooks/{hook.pk}/delete")
    assert not Webhook.objects.exists()


def test_the_sign_in_is_locked_after_repeated_failures(make_client, settings):
    settings.AXES_FAILURE_LIMIT = 5
    client, _ = make_client(name="target")
    client.user.set_password(PASSWORD)
    client.user.save()
    browser = BrowserClient()
    statuses = [
        browser.post("/portal/login/", {"username": "target", "password": "wrong"}).status_code for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]  # the AXES_FAILURE_LIMIT-th failure locks
    locked = browser.post("/portal/login/", {"username": "target", "password": PASSWORD})
    assert locked.status_code == 429  # locked out: even the right password is refused now
    assert "_auth_user_id" not in browser.session


def test_security_headers_and_csrf(signed_in, make_client):
    browser, _, _ = signed_in
    response = browser.get("/portal/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    strict = BrowserClient(enforce_csrf_checks=True)
    assert strict.post("/portal/login/", {"username": "x", "password": "y"}).status_code == 403
    # The API is not a browser page: no CSP there.
    assert "Content-Security-Policy" not in browser.get("/api/health")


def test_an_operator_without_a_client_gets_a_403(django_user_model):
    django_user_model.objects.create_user("ops", password=PASSWORD)
    browser = BrowserClient()
    browser.post("/portal/login/", {"username": "ops", "password": PASSWORD})
    assert browser.get("/portal/").status_code == 403


@pytest.fixture
def sample_catalogue() -> None:
    from pathlib import Path

    from memes.selectors import search_index_reset
    from memes.services import catalogue_import

    sample = Path(__file__).resolve().parent.parent.parent / "memes" / "sample"
    catalogue_import(path=sample / "sample_memes.csv", languages_path=sample / "sample_languages.csv", progress=False)
    search_index_reset()


def test_the_playground_asks_first_then_charges_like_the_api(signed_in, sample_catalogue):
    from billing.models import LedgerEntry

    browser, client, _ = signed_in
    debits = LedgerEntry.objects.filter(account_id=client.pk, kind="debit")
    page = browser.post("/portal/playground/", {"query": "cat", "rating": "pg"}).content.decode()
    assert 'id="confirm"' in page and "balance now: 20" in page
    assert not debits.exists()  # asking costs nothing
    page = browser.post("/portal/playground/", {"query": "cat", "rating": "pg", "confirm": "on"}).content.decode()
    assert 'id="meme"' in page and 'src="data:image/png;base64,iVBOR' in page  # a PNG
    [debit] = debits
    assert debit.amount == -1 and debit.request_ref.startswith("PORTAL playground")
    assert_ledger_consistent()


def test_the_playground_refuses_bad_input_and_charges_nothing_without_a_match(signed_in, sample_catalogue):
    from billing.models import LedgerEntry

    browser, client, _ = signed_in
    page = browser.post("/portal/playground/", {"query": "cat", "lat": "91", "lon": "0", "confirm": "on"})
    assert page.status_code == 200 and 'id="meme"' not in page.content.decode()
    page = browser.post("/portal/playground/", {"query": "cat", "lat": "45", "confirm": "on"}).content.decode()
    assert "both latitude and longitude" in page
    page = browser.post("/portal/playground/", {"query": "zzqxjv", "confirm": "on"}).content.decode()
    assert 'id="playground-error"' in page
    assert not LedgerEntry.objects.filter(account_id=client.pk, kind="debit").exists()


def test_the_data_export_download_is_the_clients_own(signed_in, make_client):
    import json

    browser, _, raw_key = signed_in
    make_client(name="someone-else", tokens=3)
    response = browser.get("/portal/my-data.json")
    assert response["Content-Disposition"].startswith("attachment")
    document = json.loads(response.content)
    assert document["client"]["name"] == "portal-user"
    assert [e["amount"] for e in document["billing"]["ledger"]] == [20]
    assert raw_key not in response.content.decode()
