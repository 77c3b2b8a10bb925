"""A real Prometheus (Debian's) scrapes a running MaaS server and worker with the production rules
at test-sized windows (deploy/prometheus/generate.py --scale): stopping the worker makes
MaasWorkerAbsent go pending, then firing, and it clears once the worker is back. Bounded: every
wait has a deadline, every process is stopped by its PID whatever fails."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.billing.servers import free_port, running_servers
from tests.serving.test_rolling_restart import Worker

pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
SCALE = 0.025  # MaasWorkerAbsent's "for: 2m" becomes 3 s
PORT_RANGE = range(9800, 9900)  # this project's ports for its own Prometheus instances


def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        reason = "needs Debian's prometheus (apt-get install prometheus)"
        if os.environ.get("MAAS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"CI must run this test: {reason}")
        pytest.skip(reason)
    return path


def port_in_range() -> int:
    for port in PORT_RANGE:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


def wait_for(what: str, predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            result = predicate()
            if result:
                return result
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout}s")


@contextlib.contextmanager
def prometheus(tmp: Path, *, web: int, worker: int) -> Iterator[str]:
    spec = importlib.util.spec_from_file_location("maas_prometheus_generate", ROOT / "deploy/prometheus/generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    (tmp / "rules.yml").write_text(generate.render(SCALE))
    (tmp / "prometheus.yml").write_text(
        f"""global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: {generate.WEB_JOB}
    static_configs: [{{targets: ["127.0.0.1:{web}"]}}]
  - job_name: {generate.WORKER_JOB}
    static_configs: [{{targets: ["127.0.0.1:{worker}"]}}]
"""
    )
    port = port_in_range()
    log = (tmp / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [prometheus_binary(), f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for("Prometheus ready", lambda: requests.get(f"{url}/-/ready", timeout=1).ok, 30)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def alert_state(url: str, name: str) -> str:
    """ "inactive", "pending" or "firing"."""
    alerts = requests.get(f"{url}/api/v1/alerts", timeout=2).json()["data"]["alerts"]
    states = {a["state"] for a in alerts if a["labels"]["alertname"] == name}
    return "firing" if "firing" in states else "pending" if "pending" in states else "inactive"


def active_state(url: str, name: str) -> str | None:
    state = alert_state(url, name)
    return None if state == "inactive" else state


def query(url: str, expression: str) -> list[dict[str, Any]]:
    return requests.get(f"{url}/api/v1/query", params={"query": expression}, timeout=2).json()["data"]["result"]


def test_stopping_the_worker_makes_its_alert_pending_then_firing_and_it_clears_on_recovery(tmp_path: Path) -> None:
    worker = Worker(tmp_path, f"ingest-prom-{uuid.uuid4().hex[:10]}")
    worker_port = free_port()
    worker.env.update({"WORKER_METRICS_PORT": str(worker_port), "WORKER_METRICS_HOST": "127.0.0.1"})
    with running_servers(1) as (server,):
        try:
            worker.start()
            with prometheus(tmp_path, web=server.port, worker=worker_port) as url:
                up = 'up{job="maas-worker"} == 1 and on() up{job="maas-web"} == 1'
                wait_for("both targets scraped", lambda: query(url, up), 60)
                # The server's own series and the rules on them are in Prometheus.
                wait_for("the outbox gauge", lambda: query(url, "maas_ingest_outbox_records"), 20)
                assert query(url, 'slo:paid_memes_availability:error_budget{slo="paid_memes_availability"}')
                time.sleep(2)
                assert alert_state(url, "MaasWorkerAbsent") == "inactive"

                code, _ = worker.terminate()
                assert code == 0
                # The first state other than inactive is pending: the rule's "for" holds it back.
                first = wait_for("the alert", lambda: active_state(url, "MaasWorkerAbsent"), 20, interval=0.1)
                assert first == "pending"
                wait_for("firing", lambda: alert_state(url, "MaasWorkerAbsent") == "firing", 20)

                worker.start()
                wait_for("cleared", lambda: alert_state(url, "MaasWorkerAbsent") == "inactive", 60)
                assert alert_state(url, "MaasWebAbsent") == "inactive"
        finally:
            worker.kill()
