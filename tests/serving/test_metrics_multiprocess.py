"""/metrics of a multi-process server reports the server's totals, whichever process answers the
scrape: deploy/serve runs granian's processes in prometheus_client's multiprocess mode."""

from __future__ import annotations

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.billing.servers import running_servers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
SERIES = "django_http_responses_total_by_status_view_method_total"


def _health_answers(body: str) -> float:
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == SERIES and sample.labels == {"status": "200", "view": "health", "method": "GET"}:
                return sample.value
    return 0.0


def test_every_scrape_of_a_two_process_server_reports_the_sum_of_both():
    with running_servers(1, workers=2) as (server,):
        before = _health_answers(requests.get(server.url("/metrics"), timeout=5).text)
        for _ in range(40):
            # A new connection each: granian hands connections to its processes, not requests.
            assert requests.get(server.url("/api/health"), headers={"Connection": "close"}, timeout=5).ok
        scrapes = [requests.get(server.url("/metrics"), headers={"Connection": "close"}, timeout=5) for _ in range(8)]
        assert {_health_answers(s.text) for s in scrapes} == {before + 40}
        # The gauges computed from the database at scrape time are there too, once.
        assert scrapes[0].text.count("\nmaas_ingest_outbox_records ") == 1
