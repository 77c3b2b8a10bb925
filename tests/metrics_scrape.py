"""Reading /metrics as Prometheus does: the text format, parsed, one sample looked up by name and labels."""

from __future__ import annotations

from django.test import Client as HttpClient
from prometheus_client.parser import text_string_to_metric_families


def scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample on ``GET /metrics``, by (name, labels)."""
    response = HttpClient().get("/metrics")
    assert response.status_code == 200, response.status_code
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)
