"""Real server processes for HTTP-level tests: the production server, ``deploy/serve`` (granian
serving ``config.wsgi``) on 127.0.0.1, pointed at the test database, started and stopped by PID.

    with running_servers(2) as servers:       # two processes, two ports
        requests.post(servers[0].url("/api/..."), ...)

The test must use ``@pytest.mark.django_db(transaction=True)``: the servers only see committed data.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to ``deploy/serve`` itself, as Kubernetes sends it (it drains for
        WEB_DRAIN_SECONDS, then stops granian), then SIGKILL to its process group. Not SIGTERM to
        the group: granian would get it directly and skip the drain."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        # Whatever is left (granian's workers, if its master died first) shares the process group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def database_url() -> str:
    """A URL for the database this process uses now (under pytest: the test database)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("server processes need PostgreSQL (an in-memory SQLite test database is not shared)")
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = f"{auth}@" if auth else ""
    host += f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{host}/{quote(db['NAME'], safe='')}"


def free_port() -> int:
    """A port the kernel reports free on 127.0.0.1. Not a fixed range: several test runs (or a
    benchmark) may share the machine, and each must get ports of its own."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVE = ROOT / "deploy" / "serve"


def start_server(
    *,
    port: int | None = None,
    workers: int = 1,
    env: dict[str, str] | None = None,
    ready_timeout: float = 60,
) -> Server:
    """Start ``deploy/serve`` on 127.0.0.1 and wait until ``/api/health`` answers 200.

    Its other settings are the production defaults, except ``WEB_DRAIN_SECONDS=0`` (no load
    balancer to wait for; a test of the drain passes its own) and ``workers`` (1 unless given:
    tests run many servers on two cores). ``env`` overrides anything.
    """
    port = port or free_port()
    environment = {
        **os.environ,
        # A test with a database of its own (tests/reliability/stack.py) passes its URL in env.
        "DATABASE_URL": (env or {}).get("DATABASE_URL") or database_url(),
        "DB_CONN_MAX_AGE": "60",
        # Tests change the catalogue and query it the next moment: look at its version on every
        # search instead of once a second, or a server warmed at start may answer from the old index.
        "MEMES_INDEX_CHECK_SECONDS": "0",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_WORKERS": str(workers),
        "WEB_DRAIN_SECONDS": "0",
        **(env or {}),
    }
    command = [sys.executable, str(SERVE)]
    log = Path(tempfile.mkstemp(prefix=f"maas-server-{port}-", suffix=".log")[1])
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process=process, port=port, log_path=log)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"deploy/serve on port {port} exited with {process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.url("/api/health"), timeout=1).status_code == 200:
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"deploy/serve on port {port} not ready within {ready_timeout}s:\n{server.log_tail()}")


@contextlib.contextmanager
def running_servers(count: int, **kwargs) -> Iterator[list[Server]]:
    servers: list[Server] = []
    try:
        for _ in range(count):
            servers.append(start_server(**kwargs))
        yield servers
    finally:
        for server in servers:
            server.stop()
