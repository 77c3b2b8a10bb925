"""CPU the business metrics add to one paid call, measured on the instrumentation itself.

``request_cpu.py --against`` measures the whole paid call before and after; on a shared 2-core
machine the run-to-run spread of a ~1 ms call is tens of µs, larger than what is measured. This
measures exactly the code the metrics added to a paid JSON call, in a loop, as deploy/serve runs it
(prometheus_client in multiprocess mode, values in memory-mapped files): the outcome counter and
the tokens counter behind the serving wrapper (``memes.services.serving._counted``, against the
same function unwrapped), and the search timer (two ``perf_counter`` calls and one histogram
observation). A PNG call adds one more counter (the cache); AI calls one more histogram. Also,
outside the metrics' budget: what the request id and the JSON access line cost per request
(``config.logs.RequestLogMiddleware``), and the line written through our formatter against
structlog's stdlib bridge (the alternative measured and rejected).

    .venv/bin/python bench/metrics_cost.py [--runs 5] [--iterations 200000] [--no-report]

Needs nothing running (no database is touched).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _report import median, progress, write_section  # noqa: E402


def _per_call_us(function: Callable[[], object], iterations: int) -> float:
    for _ in range(1000):
        function()
    start = time.process_time()
    for _ in range(iterations):
        function()
    return (time.process_time() - start) / iterations * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()

    metrics_dir = tempfile.mkdtemp(prefix="maas-metrics-cost-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # before prometheus_client is imported
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        import django

        django.setup()
        from billing.services import PaidCallResult
        from memes import metrics
        from memes.services.serving import Served, _counted

        served = Served(
            payload={"memes": [{"id": 1, "kind": "image"}]},
            billing=PaidCallResult(payload={}, price=1, charged=1, balance=9, replayed=False, ledger_entry_id=1),
        )

        def bare(**kwargs: object) -> Served:
            return served

        counted = _counted(bare)
        timer = metrics.SEARCH_SECONDS["exact"]

        def search_timer() -> None:
            started = time.perf_counter()
            timer.observe(time.perf_counter() - started)

        import logging

        from django.http import HttpRequest, HttpResponse

        from config.logs import RequestLogMiddleware

        # The access line as production writes it (JSON formatter), into /dev/null instead of stderr.
        sink = open(os.devnull, "w")  # noqa: SIM115 - closed with the run
        handler = logging.StreamHandler(sink)
        handler.setFormatter(next(h.formatter for h in logging.getLogger().handlers if h.formatter is not None))
        access = logging.getLogger("maas.access")
        access.handlers, access.propagate, access.level = [handler], False, logging.INFO
        answer = HttpResponse(b"{}", content_type="application/json")
        request = HttpRequest()
        request.method, request.path, request.path_info = "GET", "/api/memes", "/api/memes"
        request.META = {"HTTP_X_REQUEST_ID": "soak-req-0000001"}

        def bare_view(_request: HttpRequest) -> HttpResponse:
            return answer

        logged = RequestLogMiddleware(bare_view)

        cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
            "serving wrapper: outcome + tokens counters (minus the bare call)": (
                lambda: counted(as_image=False),
                lambda: bare(as_image=False),
            ),
            "search timer: 2 perf_counter + 1 histogram observation": (search_timer, lambda: None),
        }
        logging_case = "request id + one JSON access line (config/logs.py), not in the metrics budget"
        cases[logging_case] = (lambda: logged(request), lambda: bare_view(request))
        # The alternative we measured and rejected: the same line through structlog's stdlib bridge.
        import structlog

        bridge = structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_logger_name,
                structlog.stdlib.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
                structlog.stdlib.ExtraAdder(),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
        ours = handler.formatter
        fields = {"method": "GET", "route": "api/memes", "status": 200, "duration_ms": 1.2, "client_id": 7}

        def line_with(formatter: logging.Formatter | None) -> Callable[[], None]:
            def write() -> None:
                handler.formatter = formatter
                access.info("request", extra=fields)

            return write

        structlog_case = "the access line alone, written through structlog's ProcessorFormatter (rejected)"
        ours_case = "the access line alone, written through config.logs.JsonFormatter"
        cases[ours_case] = (line_with(ours), lambda: None)
        cases[structlog_case] = (line_with(bridge), lambda: None)
        log_cases = {logging_case, ours_case, structlog_case}
        figures: dict[str, list[float]] = {name: [] for name in cases}
        for run in range(1, args.runs + 1):
            for name, (with_metrics, without) in cases.items():
                figures[name].append(
                    _per_call_us(with_metrics, args.iterations) - _per_call_us(without, args.iterations)
                )
            progress(f"run {run}/{args.runs}: " + ", ".join(f"{v[-1]:.2f}" for v in figures.values()) + " µs")
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)

    metric_figures = [values for name, values in figures.items() if name not in log_cases]
    total = [sum(values) for values in zip(*metric_figures, strict=True)]
    rows = "\n".join(
        f"| {name} | {median(values):.2f} | {min(values):.2f} to {max(values):.2f} |"
        for name, values in figures.items()
        if name not in log_cases
    )
    log_row = "\n".join(
        f"| {name} | {median(figures[name]):.2f} | {min(figures[name]):.2f} to {max(figures[name]):.2f} |"
        for name in (logging_case, ours_case, structlog_case)
    )
    body = f"""
What the business metrics (issue 14) add to one paid JSON call, measured on that code alone:
{args.iterations:,} calls per case, CPU time of the process, median of {args.runs} runs, prometheus_client in
multiprocess mode as deploy/serve runs it. Budget: 20 µs per paid call.

| added code | µs per paid call (median) | range |
|---|---:|---:|
{rows}
| **total of the metrics** | **{median(total):.2f}** | {min(total):.2f} to {max(total):.2f} |
{log_row}
"""
    command = f"python bench/metrics_cost.py --runs {args.runs} --iterations {args.iterations}"
    if args.no_report:
        print(body)
    else:
        write_section("metrics-cost", "Metrics: CPU added to a paid call", command, body)


if __name__ == "__main__":
    main()
