"""The portal end to end in a real headless Chromium (the Selenium setup of the admin test): sign in,
create a key, call the API with it over HTTP, see the call in the chart and the history, revoke the
key, and the key stops working."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from django.utils import timezone

from memes.selectors import search_index_reset
from memes.services import catalogue_import
from tests.billing.test_admin_browser import browser  # noqa: F401  (the headless Chromium fixture)

ROOT = Path(__file__).resolve().parent.parent.parent
PASSWORD = "browser-portal-passphrase-3"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sample_catalogue() -> None:
    sample = ROOT / "memes" / "sample"
    catalogue_import(path=sample / "sample_memes.csv", languages_path=sample / "sample_languages.csv", progress=False)
    search_index_reset()


def test_a_client_manages_its_key_and_sees_its_usage(browser, live_server, make_client, sample_catalogue):  # noqa: F811
    from selenium.webdriver.common.by import By

    client, _ = make_client("browser-client", tokens=50)
    client.user.set_password(PASSWORD)
    client.user.save()

    browser.get(f"{live_server.url}/portal/")  # → the sign-in page
    browser.find_element(By.ID, "id_username").send_keys("browser-client")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.ID, "sign-in").click()
    assert browser.find_element(By.ID, "balance").text == "50"

    browser.find_element(By.LINK_TEXT, "API keys").click()
    browser.find_element(By.ID, "id_name").send_keys("from-the-browser")
    browser.find_element(By.ID, "create-key").click()
    raw_key = browser.find_element(By.ID, "new-key").text
    assert raw_key.startswith("maas_")

    api = f"{live_server.url}/api/memes"
    answer = requests.get(api, params={"query": "cat"}, headers={"X-Token": raw_key}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["billing"]["charged"] == 1

    browser.find_element(By.LINK_TEXT, "Dashboard").click()
    today = timezone.now().date().isoformat()
    bar = browser.find_element(By.CSS_SELECTOR, f'#usage-chart rect.bar-calls[data-date="{today}"]')
    assert bar.get_attribute("data-value") == "1" and float(bar.get_attribute("height")) > 0
    assert browser.find_element(By.ID, "balance").text == "49"
    assert "GET /api/memes?query=cat" in browser.find_element(By.ID, "last-calls").text

    browser.find_element(By.LINK_TEXT, "Usage").click()
    history = browser.find_element(By.ID, "history").text
    assert "paid_call" in history and "GET /api/memes?query=cat" in history
    # The date filter (typed into a date input, a browser's locale decides the digits' order: use the URL).
    browser.get(f"{live_server.url}/portal/usage/?start={today}&end={today}")
    assert "paid_call" in browser.find_element(By.ID, "history").text
    browser.get(f"{live_server.url}/portal/usage/?end=2000-01-01")
    assert "Nothing in this period" in browser.find_element(By.ID, "history").text

    browser.find_element(By.LINK_TEXT, "API keys").click()
    buttons = browser.find_elements(By.CSS_SELECTOR, "button.revoke")
    next(b for b in buttons if b.get_attribute("data-prefix") in raw_key).click()
    assert "revoked" in browser.find_element(By.CSS_SELECTOR, ".message.success").text

    refused = requests.get(api, params={"query": "cat"}, headers={"X-Token": raw_key}, timeout=30)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
