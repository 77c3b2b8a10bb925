"""The paid GET /api/memes over HTTP, from two server processes sharing one database."""

from __future__ import annotations

import csv
import threading
import uuid

import pytest
import requests

from tests.billing.concurrency import run_at_once
from tests.billing.helpers import assert_ledger_consistent, balance, debits
from tests.billing.servers import running_servers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 16
PATH = "/api/memes?query=concurrency"


@pytest.fixture(scope="module")
def two_servers(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), running_servers(2) as servers:
        yield servers


@pytest.fixture
def one_meme(tmp_path):
    from memes.loc_format import COLUMNS_2019
    from memes.services import catalogue_import
    from tests.memes.loc_files import loc_row

    memes, languages = tmp_path / "memes.csv", tmp_path / "languages.csv"
    with memes.open("w", newline="") as handle:
        csv.writer(handle).writerows([COLUMNS_2019, loc_row(1, "Concurrency Cat", "one token", "per meme")])
    with languages.open("w", newline="") as handle:
        csv.writer(handle).writerows([["Meme ID", "Language"], ["1", "en"]])
    catalogue_import(path=memes, languages_path=languages, progress=False)


def _get(server, key: str, session: requests.Session, **headers: str) -> requests.Response:
    return session.get(server.url(PATH), headers={"X-Token": key, **headers}, timeout=30)


@pytest.fixture
def paid_endpoint(two_servers, one_meme, make_client):
    """Both servers serve the test meme (each has refreshed its search index) and charge for it."""
    probe, key = make_client(tokens=len(two_servers))
    for server in two_servers:
        response = _get(server, key, requests.Session())
        assert response.status_code == 200, response.text
    assert balance(probe.pk) == 0, "GET /api/memes must charge for what it serves"
    return two_servers


def _per_thread_session() -> callable:
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    return session


def test_300_concurrent_requests_on_100_tokens_serve_exactly_100(paid_endpoint, make_client):
    client, key = make_client(tokens=100)
    session = _per_thread_session()
    responses = run_at_once(THREADS, 300, lambda i: _get(paid_endpoint[i % 2], key, session()))
    statuses = [r.status_code if isinstance(r, requests.Response) else repr(r) for r in responses]
    assert statuses.count(200) == 100, statuses
    assert statuses.count(402) == 200, statuses
    refused = next(r.json()["error"] for r in responses if r.status_code == 402)
    assert refused["code"] == "insufficient_tokens" and refused["details"]["price"] == 1
    assert balance(client.pk) == 0 and debits(client.pk) == 100
    assert_ledger_consistent()


def test_concurrent_retries_with_one_idempotency_key_charge_once(paid_endpoint, make_client):
    client, key = make_client(tokens=10)
    session = _per_thread_session()
    idempotency_key = str(uuid.uuid4())
    responses = run_at_once(
        THREADS,
        THREADS,
        lambda i: _get(paid_endpoint[i % 2], key, session(), **{"Idempotency-Key": idempotency_key}),
    )
    assert [r.status_code for r in responses] == [200] * THREADS
    assert balance(client.pk) == 9 and debits(client.pk) == 1
    assert_ledger_consistent()
