"""``deploy/serve``'s command line: the production settings, the knobs that change them, and clear
refusals of bad values. (What the settings do is tested on running servers in the other modules.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

SERVE = Path(__file__).resolve().parents[2] / "deploy" / "serve"


def _command(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WEB_") and k not in ("HOST", "PORT")}
    return subprocess.run(
        [sys.executable, str(SERVE), "--print-command"], env={**environment, **env}, capture_output=True, text=True
    )


def _options(**env: str) -> dict[str, str]:
    result = _command(**env)
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    options: dict[str, str] = {}
    for word, following in zip(words, [*words[1:], ""], strict=True):
        if word.startswith("--"):
            options[word] = following if not following.startswith("--") else ""
    return options


def test_production_defaults():
    options = _options()
    assert options["--interface"] == "wsgi"
    assert options["--host"] == "0.0.0.0" and options["--port"] == "8000"
    assert options["--workers"] == "2" and options["--blocking-threads"] == "4"
    # Connections are not bounded at a handful per process any more (the stall of issue 10).
    assert int(options["--backpressure"]) >= 1000
    assert options["--http1-header-read-timeout"] == "30000"
    assert options["--workers-kill-timeout"] == "10"
    assert options["--static-path-route"] == "/static"


def test_knobs_change_the_command():
    options = _options(
        HOST="127.0.0.1", PORT="9001", WEB_WORKERS="3", WEB_THREADS="2", WEB_MAX_CONNECTIONS="500",
        WEB_HEADER_TIMEOUT="5", WEB_SHUTDOWN_TIMEOUT="20",
    )  # fmt: skip
    assert options["--host"] == "127.0.0.1" and options["--port"] == "9001"
    assert options["--workers"] == "3" and options["--blocking-threads"] == "2"
    assert options["--backpressure"] == "500"
    assert options["--http1-header-read-timeout"] == "5000"
    assert options["--workers-kill-timeout"] == "20"


def test_static_files_are_served_from_what_collectstatic_fills():
    assert Path(_options()["--static-path-mount"]) == Path(settings.STATIC_ROOT).resolve()


def test_a_bad_value_is_refused_with_its_name():
    result = _command(WEB_THREADS="four")
    assert result.returncode != 0
    assert "WEB_THREADS must be a whole number" in result.stderr


def test_the_header_timeout_stays_within_what_granian_accepts():
    assert _options(WEB_HEADER_TIMEOUT="600")["--http1-header-read-timeout"] == "60000"
