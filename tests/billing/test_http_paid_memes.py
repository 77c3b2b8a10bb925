"""The paid GET /api/memes across two real server processes on one PostgreSQL database: exact to
the token under concurrency, and one charge per Idempotency-Key however many retries race."""

from __future__ import annotations

import csv
import threading
from collections import Counter

import pytest
import requests

from billing.models import LedgerEntry
from memes.services import COLUMNS_2019, catalogue_import
from tests.billing.concurrency import run_at_once
from tests.billing.helpers import assert_ledger_consistent, balance
from tests.billing.servers import running_servers
from tests.memes.loc_files import CATALOGUE, loc_row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 16


@pytest.fixture(scope="module")
def two_servers(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), running_servers(2) as servers:
        yield servers


@pytest.fixture
def catalogue_in_db(tmp_path):
    path = tmp_path / "catalogue.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS_2019)
        writer.writerows(loc_row(i, t, u, lo) for i, t, u, lo, _ in CATALOGUE if _ == "en")
    catalogue_import(path=path, progress=False)


def _getter(servers, key: str, headers: dict[str, str] | None = None):
    sessions = threading.local()

    def get(i: int) -> requests.Response:
        if not hasattr(sessions, "s"):
            sessions.s = requests.Session()
        url = servers[i % 2].url("/api/memes")
        return sessions.s.get(url, params={"query": "pizza"}, headers={"X-Token": key, **(headers or {})}, timeout=60)

    return get


def test_300_concurrent_paid_calls_on_100_tokens_serve_exactly_100(two_servers, catalogue_in_db, make_client):
    client, key = make_client(tokens=100)
    responses = run_at_once(THREADS, 300, _getter(two_servers, key))

    statuses = Counter(r.status_code if isinstance(r, requests.Response) else repr(r) for r in responses)
    assert statuses == {200: 100, 402: 200}, statuses
    assert all(r.json()["error"]["details"]["price"] == 1 for r in responses if r.status_code == 402)
    assert balance(client.pk) == 0
    assert LedgerEntry.objects.filter(account_id=client.pk, kind="debit").count() == 100
    assert_ledger_consistent()


def test_racing_retries_of_one_idempotency_key_are_charged_once(two_servers, catalogue_in_db, make_client):
    client, key = make_client(tokens=10)
    responses = run_at_once(THREADS, 32, _getter(two_servers, key, {"Idempotency-Key": "order-42"}))

    assert all(isinstance(r, requests.Response) and r.status_code == 200 for r in responses), responses
    bodies = [r.json() for r in responses]
    assert len({b["memes"][0]["id"] for b in bodies}) == 1  # everyone got the same meme
    assert sorted(b["billing"]["charged"] for b in bodies) == [0] * 31 + [1]
    assert balance(client.pk) == 9
    assert_ledger_consistent()
