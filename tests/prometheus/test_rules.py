"""deploy/prometheus/: the rules are what generate.py writes, promtool accepts them and their unit
tests pass, and every expression of the rules and of the Grafana dashboard names a series MaaS
exports or a rule that records it (a renamed metric would leave a dashboard blank, an alert silent)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "rules.yml"
DASHBOARD = PROMETHEUS_DIR / "grafana-dashboard.json"


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        reason = "needs promtool (apt-get install prometheus)"
        if os.environ.get("MAAS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"CI must run this test: {reason}")
        pytest.skip(reason)
    return path


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("maas_prometheus_generate", PROMETHEUS_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_rules_and_dashboard_are_what_the_generator_writes():
    module = generator()
    assert RULES.read_text() == module.render(), "run python deploy/prometheus/generate.py"
    assert json.loads(DASHBOARD.read_text()) == module.dashboard(), "run python deploy/prometheus/generate.py"


def test_promtool_accepts_the_rules():
    result = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_rules_unit_tests_pass():
    tests = PROMETHEUS_DIR / "tests" / "rules_test.yml"
    result = subprocess.run(
        [promtool(), "test", "rules", str(tests)], capture_output=True, text=True, cwd=tests.parent, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_test_sized_rules_are_the_same_rules_with_shorter_windows():
    module = generator()
    fast = module.rules(0.001)
    names = [[r.get("record") or r.get("alert") for r in g["rules"]] for g in fast["groups"]]
    assert names == [[r.get("record") or r.get("alert") for r in g["rules"]] for g in module.rules()["groups"]]
    burn = next(r for r in fast["groups"][1]["rules"] if r["alert"].endswith("page_1h"))
    assert burn["for"] == "1s"  # 2m x 0.001, at least a second


# --- every name an expression uses exists --------------------------------------------------------
_NOT_SERIES = {
    "sum", "max", "min", "avg", "rate", "increase", "irate", "histogram_quantile", "absent", "vector", "by",
    "without", "on", "ignoring", "and", "or", "unless", "bool", "group_left", "group_right", "clamp_min",
    "le", "view", "status", "method", "job", "mode", "kind", "outcome", "generator", "reason", "slo", "result",
}  # fmt: skip


def names_in(expression: str) -> set[str]:
    """The series and rule names an expression reads: identifiers outside label matchers, ranges,
    strings and grouping clauses."""
    text = re.sub(r'"[^"]*"', "", expression)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)
    return {n for n in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text) if n not in _NOT_SERIES}


def exported_series() -> set[str]:
    """Every sample name MaaS's processes export (web and worker declare the same metrics), and
    ``up``, which Prometheus records for each target. Read from the registry's index of names (what
    each metric and collector declared), not by collecting: no database query, and series without
    a sample yet count too."""
    from django_prometheus.middleware import Metrics

    import ingest.metrics  # noqa: F401
    import memes.metrics  # noqa: F401
    from billing import metrics as billing_metrics  # noqa: F401
    from ingest.metrics import collector_register

    Metrics.get_instance()  # the HTTP series, made when the middleware is first built
    collector_register()
    return {"up", *REGISTRY._names_to_collectors}


def recorded() -> set[str]:
    return {r["record"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "record" in r}


def test_names_in_reads_series_not_functions_or_labels():
    assert names_in('sum by (le, view) (rate(x_bucket{view=~"a|b",le="0.25"}[5m])) / on(slo) y:z') == {
        "x_bucket",
        "y:z",
    }


def test_every_rule_expression_names_exported_series_or_recorded_rules():
    known = exported_series() | recorded()
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            missing = names_in(rule["expr"]) - known
            assert not missing, f"{rule.get('record') or rule.get('alert')}: {missing}"


def test_every_dashboard_expression_names_exported_series_or_recorded_rules():
    known = exported_series() | recorded()
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(expressions) >= 15
    for expression in expressions:
        missing = names_in(expression) - known
        assert not missing, f"{expression}: {missing}"
    # Every business series of issue 14 is on the dashboard.
    shown = set().union(*(names_in(e) for e in expressions))
    for series in ["maas_paid_calls_total", "maas_tokens_charged_total", "maas_topups_total",
                   "maas_ingest_outbox_oldest_age_seconds", "maas_ingest_dead_letters_total",
                   "maas_ingest_batch_seconds_bucket", "maas_ai_generation_seconds_bucket", "maas_ai_fallbacks_total",
                   "maas_search_seconds_bucket", "maas_png_cache_lookups_total"]:  # fmt: skip
        assert series in shown, series
