"""An operator tops up an account in a real (headless) Chromium, end to end."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from billing.models import LedgerEntry
from tests.billing.helpers import assert_ledger_consistent, balance

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        reason = "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        if os.environ.get("MAAS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"CI must run the browser test: {reason}")
        pytest.skip(reason)
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    # An explicit driver path: selenium-manager is never asked to download anything.
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(10)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def test_operator_tops_up_an_account_in_the_admin(browser, live_server, django_user_model, make_client):
    from selenium.webdriver.common.by import By

    customer, _ = make_client("browser-customer", tokens=5)
    django_user_model.objects.create_superuser("ops-lead", password="correct-horse-battery-9")

    browser.get(f"{live_server.url}/admin/login/?next=/admin/billing/tokenaccount/{customer.pk}/change/")
    browser.find_element(By.NAME, "username").send_keys("ops-lead")
    browser.find_element(By.NAME, "password").send_keys("correct-horse-battery-9")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    browser.find_element(By.ID, "topup-link").click()
    assert browser.find_element(By.ID, "current-balance").text == "5"
    browser.find_element(By.ID, "id_tokens").send_keys("120")
    reason = browser.find_element(By.ID, "id_reason")
    reason.clear()
    reason.send_keys("browser goodwill")
    browser.find_element(By.ID, "topup-submit").click()

    message = browser.find_element(By.CSS_SELECTOR, ".messagelist .success").text
    assert "Credited 120 tokens to browser-customer; balance now 125." in message
    assert balance(customer.pk) == 125
    entry = LedgerEntry.objects.filter(account_id=customer.pk).first()
    assert (entry.kind, entry.amount, entry.reason, entry.actor) == (
        "credit",
        120,
        "browser goodwill",
        "admin:ops-lead",
    )
    assert_ledger_consistent()
