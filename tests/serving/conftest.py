"""Helpers of the serving tests: the tools they drive (wrk, ss, HAProxy) and raw HTTP on sockets.

The servers are real ``deploy/serve`` processes (tests/billing/servers.py) on the test database.
A missing tool skips a test on a laptop and fails it in CI (``MAAS_REQUIRE_SERVICES=1``), whose
``.ci/run`` installs them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench._report import ConnectionCounter

WRK_LUA = r"""
local pause = tonumber(os.getenv("WRK_PAUSE_MS") or "0")
if pause > 0 then
  function delay() return pause end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "non2xx": %d, "errors": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if path is None:
        reason = f"needs {name} (apt-get install {package})"
        if os.environ.get("MAAS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"CI must run this test: {reason}")
        pytest.skip(reason)
    return path


@dataclass
class LoadResult:
    requests: int
    non2xx: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    per_connection: dict[str, int]


def wrk(
    port: int,
    path: str,
    *,
    connections: int,
    seconds: int,
    pause_ms: int = 0,
    exclude_ports: frozenset[int] = frozenset(),
    tmp_path: Path,
) -> LoadResult:
    """``wrk -t2`` on ``path`` with ``connections`` clients, each pausing ``pause_ms`` between its
    requests; latency percentiles from wrk, answers per connection from the kernel."""
    binary = require_tool("wrk", "wrk")
    require_tool("ss", "iproute2")
    script = tmp_path / "wrk.lua"
    script.write_text(WRK_LUA)
    command = [binary, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script)]
    env = {**os.environ, "WRK_PAUSE_MS": str(pause_ms)}
    with ConnectionCounter(port, exclude=exclude_ports, interval=0.25) as counter:
        output = subprocess.run(
            [*command, f"http://127.0.0.1:{port}{path}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        ).stdout
    line = next((x for x in output.splitlines() if x.startswith("WRK_JSON ")), None)
    assert line is not None, f"wrk printed no summary:\n{output}"
    data = json.loads(line.removeprefix("WRK_JSON "))
    return LoadResult(
        requests=data["requests"],
        non2xx=data["non2xx"],
        errors=data["errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        per_connection=counter.summary(),
    )


def http_request(port: int, path: str, *, headers: dict[str, str] | None = None, timeout: float = 5) -> bytes:
    """Send one GET on a new connection; return the raw response head and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request_bytes(path, headers=headers))
        return read_response(sock)


def request_bytes(path: str, *, headers: dict[str, str] | None = None, method: str = "GET", body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_response(sock: socket.socket) -> bytes:
    """Read one response (head and a Content-Length body) from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} bytes")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed in the body")
        body += chunk
    return head + b"\r\n\r\n" + body


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def header_of(response: bytes, name: str) -> str | None:
    head = response.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            return value.strip().decode()
    return None


def timed_get(port: int, path: str, *, headers: dict[str, str] | None = None, timeout: float = 5) -> tuple[int, float]:
    """(status, seconds) of one GET on a new connection; status 0 if it got no answer in time."""
    started = time.monotonic()
    try:
        response = http_request(port, path, headers=headers, timeout=timeout)
    except OSError:
        return 0, time.monotonic() - started
    return status_of(response), time.monotonic() - started
