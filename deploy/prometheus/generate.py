#!/usr/bin/env python3
"""Writes MaaS's Prometheus rules: SLO recording rules, multi-window multi-burn-rate alerts (the SRE
workbook's, chapter 5, table 5-8) and the pipeline's alerts.

    python deploy/prometheus/generate.py      # rewrite rules.yml and grafana-dashboard.json here
    python deploy/prometheus/generate.py --scale 0.001 --out /tmp/rules.yml   # test-sized windows

The committed ``rules.yml`` is this script's output (a test checks it), so the windows, targets and
thresholds are written once, here. ``--scale`` multiplies every window and ``for:`` duration, so a
test can watch an alert go pending then firing in seconds with the same expressions
(tests/prometheus/test_live_prometheus.py).

SLOs (30 days; error budget = 1 - target; the reasoning is in docs/operations.md):

- paid memes availability: 99.9 % of paid meme calls (search, by id, PNG) are not answered 5xx;
- paid memes latency: 99 % of them are answered within 250 ms (a bucket of the HTTP histogram);
- ingest accept availability: 99.95 % of ``POST /api/ingest`` are not answered 5xx (a 503 means
  the record was not accepted: the sender must retry);
- ingest freshness: 99 % of accepted records are stored within 30 s (``maas_ingest_freshness_seconds``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
WEB_JOB = "maas-web"
WORKER_JOB = "maas-worker"

HTTP = "django_http_responses_total_by_status_view_method_total"
LATENCY = "django_http_requests_latency_seconds_by_view_method"
PAID_VIEWS = 'view=~"memes:(search|detail|png)"'
ACCEPT_VIEW = 'view="ingest:record-create",method="POST"'


def _seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return float(duration[:-1]) * units[duration[-1]]


# name: (target, bad-events expression, all-events expression); [W] stands for the window.
SLOS: dict[str, tuple[float, str, str]] = {
    "paid_memes_availability": (
        0.999,
        f'sum(rate({HTTP}{{{PAID_VIEWS},status=~"5.."}}[W]))',
        f"sum(rate({HTTP}{{{PAID_VIEWS}}}[W]))",
    ),
    "paid_memes_latency": (
        0.99,
        f'(sum(rate({LATENCY}_count{{{PAID_VIEWS}}}[W])) - sum(rate({LATENCY}_bucket{{{PAID_VIEWS},le="0.25"}}[W])))',
        f"sum(rate({LATENCY}_count{{{PAID_VIEWS}}}[W]))",
    ),
    "ingest_accept_availability": (
        0.9995,
        f'sum(rate({HTTP}{{{ACCEPT_VIEW},status=~"5.."}}[W]))',
        f"sum(rate({HTTP}{{{ACCEPT_VIEW}}}[W]))",
    ),
    "ingest_freshness": (
        0.99,
        "(sum(rate(maas_ingest_freshness_seconds_count[W])) - "
        'sum(rate(maas_ingest_freshness_seconds_bucket{le="30.0"}[W])))',
        "sum(rate(maas_ingest_freshness_seconds_count[W]))",
    ),
}
# (severity, long window, short window, burn rate, for): page when 2 % of a 30-day budget is spent
# in 1 h or 5 % in 6 h, ticket when 10 % is spent in 1 day or 10 % in 3 days (the workbook's table
# 5-8). The short window, 1/12 of the long one, makes an alert reset soon after the errors stop.
BURNS = [
    ("page", "1h", "5m", 14.4, "2m"),
    ("page", "6h", "30m", 6.0, "15m"),
    ("ticket", "1d", "2h", 3.0, "1h"),
    ("ticket", "3d", "6h", 1.0, "3h"),
]
WINDOWS = sorted({w for _, long, short, _, _ in BURNS for w in (long, short)}, key=lambda w: _seconds(w))


def _scaled(duration: str, scale: float) -> str:
    """``duration`` times ``scale``, in whole seconds (at least 1 s), as Prometheus writes them."""
    seconds = max(1, round(_seconds(duration) * scale))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _window_name(duration: str) -> str:
    return duration  # record names keep the production window, whatever the scale


def rules(scale: float = 1.0) -> dict[str, Any]:
    slo_rules: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    for name, (target, bad, total) in SLOS.items():
        for window in WINDOWS:
            w = _scaled(window, scale)
            slo_rules.append(
                {
                    "record": f"slo:{name}:error_ratio_rate{_window_name(window)}",
                    "expr": f"{bad.replace('[W]', f'[{w}]')}\n/\n{total.replace('[W]', f'[{w}]')}",
                    "labels": {"slo": name},
                }
            )
        budget = round(1 - target, 6)
        slo_rules.append({"record": f"slo:{name}:error_budget", "expr": f"vector({budget})", "labels": {"slo": name}})
        for severity, long, short, burn, hold in BURNS:
            threshold = f"({burn} * {budget})"
            alerts.append(
                {
                    "alert": f"MaasSlo_{name}_{severity}_{long}",
                    "expr": (
                        f"slo:{name}:error_ratio_rate{long} > {threshold}\n"
                        f"and\nslo:{name}:error_ratio_rate{short} > {threshold}"
                    ),
                    "for": _scaled(hold, scale),
                    "labels": {"severity": severity, "slo": name, "burn_rate": str(burn)},
                    "annotations": {
                        "summary": f"{name}: the error budget burns {burn}x too fast over {long} and {short}",
                        "description": (
                            f"At this rate the 30-day budget ({budget:g} of events) is gone in "
                            f"{30 / burn:.1f} days. Runbook: docs/operations.md#alerts."
                        ),
                    },
                }
            )
    for_5m, for_2m, for_10m = (_scaled(d, scale) for d in ("5m", "2m", "10m"))
    w_10m = _scaled("10m", scale)
    pipeline = [
        {
            "alert": "MaasIngestOutboxStale",
            # Every web process reports the same database figure: max() is that figure.
            "expr": "max(maas_ingest_outbox_oldest_age_seconds) > 300",
            "for": for_5m,
            "labels": {"severity": "page"},
            "annotations": {
                "summary": "The oldest accepted ingest record has waited more than 5 minutes to be stored",
                "description": "Workers down or behind, or the broker unreachable. Runbook: docs/operations.md#alerts.",
            },
        },
        {
            "alert": "MaasIngestDeadLetters",
            "expr": (
                f"sum(increase(maas_ingest_dead_letters_total[{w_10m}])) > 0\nor\nmax(maas_ingest_failed_records) > 0"
            ),
            "for": "0s",
            "labels": {"severity": "ticket"},
            "annotations": {
                "summary": "Ingest records were set aside as failed and wait for a replay",
                "description": "manage.py ingest_deadletters --list, then --replay. Runbook: docs/operations.md#alerts",
            },
        },
        {
            "alert": "MaasWorkerAbsent",
            "expr": f'absent(up{{job="{WORKER_JOB}"}} == 1)',
            "for": for_2m,
            "labels": {"severity": "page"},
            "annotations": {
                "summary": "No ingest worker answers its metrics scrape",
                "description": "Accepted records pile up in the outbox. Runbook: docs/operations.md#alerts.",
            },
        },
        {
            "alert": "MaasWebAbsent",
            "expr": f'absent(up{{job="{WEB_JOB}"}} == 1)',
            "for": for_2m,
            "labels": {"severity": "page"},
            "annotations": {"summary": "No MaaS web server answers its metrics scrape"},
        },
        {
            "alert": "MaasReadinessFailing",
            # The probes' own answers: more than half of the readiness checks are 503 (a dependency
            # is down, or a drain that does not end).
            "expr": (
                f'sum(rate({HTTP}{{view="ready",status="503"}}[{for_5m}]))\n/\n'
                f'sum(rate({HTTP}{{view="ready"}}[{for_5m}])) > 0.5'
            ),
            "for": for_10m,
            "labels": {"severity": "page"},
            "annotations": {
                "summary": "Readiness probes fail: a web server cannot reach its database, cache or broker",
                "description": "GET /api/ready names the failing dependency. Runbook: docs/operations.md#alerts.",
            },
        },
    ]
    return {
        "groups": [
            {"name": "maas-slo-recording", "rules": slo_rules},
            {"name": "maas-slo-alerts", "rules": alerts},
            {"name": "maas-pipeline-alerts", "rules": pipeline},
        ]
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line expressions as YAML literal blocks, as a person would write them."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def render(scale: float = 1.0) -> str:
    header = "# Generated by deploy/prometheus/generate.py: edit that, then run it.\n"
    return header + yaml.dump(rules(scale), Dumper=_Dumper, sort_keys=False, width=200)


# Dashboard panels: (title, unit, [(expression, legend)]). Same series as the rules.
_P = "django_http_requests_latency_seconds_by_view_method_bucket"
PANELS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("SLO error ratios (1h)", "percentunit", [(f"slo:{name}:error_ratio_rate1h", name) for name in SLOS]),
    (
        "SLO error budget burn rate (1h)",
        "none",
        [(f"slo:{name}:error_ratio_rate1h / on(slo) slo:{name}:error_budget", name) for name in SLOS],
    ),
    ("Requests/s by view and status", "reqps", [(f"sum by (view, status) (rate({HTTP}[5m]))", "{{view}} {{status}}")]),
    ("Latency p99 by view", "s", [(f"histogram_quantile(0.99, sum by (le, view) (rate({_P}[5m])))", "{{view}}")]),
    ("Paid calls by outcome", "ops", [("sum by (outcome) (rate(maas_paid_calls_total[5m]))", "{{outcome}}")]),
    ("Tokens charged/s by kind", "none", [("sum by (kind) (rate(maas_tokens_charged_total[5m]))", "{{kind}}")]),
    (
        "Top-ups",
        "ops",
        [
            ("sum by (outcome) (rate(maas_topups_total[1h]))", "{{outcome}}"),
            ("sum(rate(maas_topup_tokens_total[1h]))", "tokens/s"),
        ],
    ),
    (
        "Ingest outbox",
        "none",
        [
            ("max(maas_ingest_outbox_records)", "records waiting"),
            ("max(maas_ingest_outbox_oldest_age_seconds)", "oldest (s)"),
        ],
    ),
    (
        "Ingest failures",
        "none",
        [
            ("max(maas_ingest_failed_records)", "failed, awaiting replay"),
            ("sum(increase(maas_ingest_dead_letters_total[1h]))", "dead letters (1h)"),
        ],
    ),
    (
        "Worker: batches and freshness p99",
        "s",
        [
            ("histogram_quantile(0.99, sum by (le) (rate(maas_ingest_batch_seconds_bucket[5m])))", "batch p99"),
            (
                "histogram_quantile(0.99, sum by (le) (rate(maas_ingest_freshness_seconds_bucket[5m])))",
                "accepted→stored p99",
            ),
            ("sum(rate(maas_ingest_stored_records_total[5m]))", "records stored/s"),
        ],
    ),
    (
        "AI generation",
        "s",
        [
            (
                "histogram_quantile(0.95, sum by (le, generator) (rate(maas_ai_generation_seconds_bucket[5m])))",
                "p95 {{generator}}",
            ),
            ("sum by (reason) (rate(maas_ai_fallbacks_total[5m]))", "fallbacks/s {{reason}}"),
        ],
    ),
    (
        "Search latency p99 by mode",
        "s",
        [("histogram_quantile(0.99, sum by (le, mode) (rate(maas_search_seconds_bucket[5m])))", "{{mode}}")],
    ),
    (
        "PNG cache hit ratio",
        "percentunit",
        [
            (
                'sum(rate(maas_png_cache_lookups_total{result="hit"}[5m]))'
                "\n/ sum(rate(maas_png_cache_lookups_total[5m]))",
                "hits",
            ),
        ],
    ),
    ("Targets up", "none", [(f'sum by (job) (up{{job=~"{WEB_JOB}|{WORKER_JOB}"}})', "{{job}}")]),
]


def dashboard() -> dict[str, Any]:
    panels = []
    for index, (title, unit, targets) in enumerate(PANELS):
        panels.append(
            {
                "id": index + 1,
                "type": "timeseries",
                "title": title,
                "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index // 2) * 8},
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [
                    {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
                    for i, (expr, legend) in enumerate(targets)
                ],
            }
        )
    return {
        "title": "MaaS",
        "uid": "maas-overview",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "templating": {
            "list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}]
        },
        "panels": panels,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every window and for: by this")
    parser.add_argument("--out", type=Path, default=HERE / "rules.yml")
    args = parser.parse_args()
    args.out.write_text(render(args.scale))
    print(f"wrote {args.out}", file=sys.stderr)
    if args.out == HERE / "rules.yml":
        (HERE / "grafana-dashboard.json").write_text(json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {HERE / 'grafana-dashboard.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
