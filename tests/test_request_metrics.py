"""The request metrics on /metrics count every answer by status, view and method, and time it."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient
from django.urls import resolve
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db

RESPONSES = "django_http_responses_total_by_status_view_method_total"
LATENCY_COUNT = "django_http_requests_latency_seconds_by_view_method_count"
LATENCY_SUM = "django_http_requests_latency_seconds_by_view_method_sum"


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("method", "path", "status", "view"),
    [
        ("get", "/api/health", "200", None),
        ("get", "/api/memes?query=cat", "401", None),  # no credentials: refused, still counted
        ("post", "/api/health", "405", None),
        ("get", "/api/no-such-endpoint", "404", "<unnamed view>"),
    ],
)
def test_each_answer_is_counted_and_timed_once_by_status_view_and_method(method, path, status, view):
    view = view or resolve(path.split("?")[0]).view_name
    verb = method.upper()
    before = _sample(RESPONSES, status=status, view=view, method=verb)
    timed_before = _sample(LATENCY_COUNT, view=view, method=verb)
    seconds_before = _sample(LATENCY_SUM, view=view, method=verb)

    response = getattr(HttpClient(), method)(path)

    assert response.status_code == int(status)
    assert _sample(RESPONSES, status=status, view=view, method=verb) == before + 1
    assert _sample(LATENCY_COUNT, view=view, method=verb) == timed_before + 1
    assert _sample(LATENCY_SUM, view=view, method=verb) > seconds_before


def test_the_metrics_endpoint_exposes_them():
    HttpClient().get("/api/health")
    body = HttpClient().get("/metrics").content.decode()
    assert RESPONSES in body
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in body
