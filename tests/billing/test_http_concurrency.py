"""The same guarantees across server processes: two real servers, one database."""

from __future__ import annotations

import threading

import pytest
import requests

from accounts.roles import BILLING_TOPUP
from billing.models import LedgerEntry
from tests.billing.concurrency import run_at_once
from tests.billing.helpers import assert_ledger_consistent, balance
from tests.billing.servers import running_servers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 16


@pytest.fixture(scope="module")
def two_servers(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), running_servers(2) as servers:
        yield servers


def test_duplicate_purchase_ids_across_two_server_processes_credit_once(two_servers, role_groups, make_client):
    customer, _ = make_client()
    _, key = make_client(roles=[BILLING_TOPUP])
    sessions = threading.local()

    def post(i: int) -> requests.Response:
        if not hasattr(sessions, "s"):
            sessions.s = requests.Session()
        server = two_servers[i % 2]
        payload = {"client": customer.pk, "tokens": 25, "purchase_id": "po-http"}
        return sessions.s.post(server.url("/api/billing/topups"), json=payload, headers={"X-Token": key}, timeout=30)

    responses = run_at_once(THREADS, THREADS * 2, post)
    statuses = sorted(r.status_code if isinstance(r, requests.Response) else repr(r) for r in responses)
    assert statuses == [200] * (THREADS * 2 - 1) + [201], statuses
    bodies = [r.json() for r in responses]
    assert len({b["ledger_entry"] for b in bodies}) == 1
    assert all(b["balance"] == 25 for b in bodies)
    assert balance(customer.pk) == 25
    assert LedgerEntry.objects.filter(purchase_id="po-http").count() == 1
    assert_ledger_consistent()


def test_servers_refuse_bad_credentials_with_a_json_401(two_servers):
    response = requests.get(two_servers[1].url("/api/balance"), headers={"X-Token": "maas_nope"}, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"invalid_api_key", "authentication_failed"}
