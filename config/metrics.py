"""Prometheus request metrics at the cost of two samples a request.

django-prometheus's two request middlewares record about a dozen series per request (requests by
method, by transport, by view and transport; body sizes both ways; responses by status, by
charset; two latency histograms; ...). Taking them out saved 60 µs of CPU per hello-world call
and 130-160 µs per paid call or ingest accept, about 15 % of those (``bench/request_cpu.py``).
This middleware keeps django-prometheus's metric objects, so the names on ``/metrics`` and the
dashboards built on them stay, and records the two series that answer "how many, how fast, how
many failed, per endpoint":

- ``django_http_responses_total_by_status_view_method`` (counter),
- ``django_http_requests_latency_seconds_by_view_method`` (histogram), measured around the whole
  middleware stack, as it is the outermost middleware.

An exception escaping a view is turned into a response (a JSON 500 under /api/) before it gets
here, so failures are counted by their status.

Several processes (granian's workers, Dramatiq's) each count their own calls. With
``PROMETHEUS_MULTIPROC_DIR`` set (deploy/serve and deploy/worker set it to a directory of their
own, emptied at start), prometheus_client keeps every counter and histogram in a memory-mapped
file per process there, and :func:`metrics_view` sums the files of all processes: whichever process
answers a scrape, the totals are the server's. Without it (tests, ``make run``), one process, one
registry. Gauges computed from the database at scrape time (``scrape_collector_add``) are added
to either.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from time import perf_counter

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django_prometheus.middleware import Metrics
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.registry import Collector

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"})


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        metrics = Metrics.get_instance()
        self._responses = metrics.responses_by_status_view_method
        self._latency = metrics.requests_latency_by_view_method

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match is not None else None) or "<unnamed view>"
        method = request.method if request.method in _METHODS else "<invalid method>"
        self._responses.labels(status=str(response.status_code), view=view, method=method).inc()
        self._latency.labels(view=view, method=method).observe(perf_counter() - started)
        return response


_scrape_collectors: list[Collector] = []


def scrape_collector_add(collector: Collector) -> None:
    """Expose ``collector`` (gauges it computes when scraped, e.g. from the database) on /metrics.
    Idempotent: an app's ``ready()`` may run more than once under tests."""
    if collector in _scrape_collectors:
        return
    _scrape_collectors.append(collector)
    REGISTRY.register(collector)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def metrics_registry() -> CollectorRegistry:
    """What a scrape reports: this process's registry, or every process's files plus the scrape-time
    collectors when several processes share ``PROMETHEUS_MULTIPROC_DIR``."""
    if not multiprocess_dir():
        return REGISTRY
    registry = CollectorRegistry(auto_describe=False)
    multiprocess.MultiProcessCollector(registry)
    for collector in _scrape_collectors:
        registry.register(collector)
    return registry


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: the Prometheus text format."""
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
