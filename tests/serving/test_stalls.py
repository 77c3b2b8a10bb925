"""Clients that hold connections without using them cannot stall the production server.

Each test would fail with the old command (``granian --backpressure 8``: eight connections per
process, idle or not, and no new one was served) and with static files served by Python threads
(a client not reading a 3.9 MB file held a thread). Real ``deploy/serve`` processes with their
production settings (2 processes x 4 threads) unless a test says otherwise.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from django.core.management import call_command

from billing.models import TokenAccount
from memes.models import Meme
from tests.billing.servers import Server, running_servers, start_server
from tests.serving.conftest import http_request, read_response, request_bytes, require_tool, status_of, timed_get, wrk

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

IDLE = 1000
ACTIVE = 50
P99_BOUND_MS = 50  # the figure
BIG_STATIC = "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js.map"  # 3.9 MB


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker) -> Iterator[Server]:
    # The big static file is served from STATIC_ROOT, which only collectstatic fills (`make setup`
    # does; a fresh checkout under `make test` has not run it).
    call_command("collectstatic", interactive=False, verbosity=0)
    with django_db_blocker.unblock(), running_servers(1, workers=2) as servers:
        yield servers[0]


@contextlib.contextmanager
def _sockets(count: int, port: int, *, receive_buffer: int | None = None) -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket()
            if receive_buffer:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.settimeout(5)
            sock.connect(("127.0.0.1", port))
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def test_a_thousand_idle_connections_do_not_stall_fifty_active_clients(server, tmp_path):
    half = IDLE // 2
    with _sockets(half, server.port) as fresh, _sockets(IDLE - half, server.port) as pooled:
        # Two kinds of idle: connected and silent (preconnects, port scans, the 20 sockets),
        # and kept alive after a request (a load balancer's pool).
        for sock in pooled:
            sock.sendall(request_bytes("/api/health"))
            assert status_of(read_response(sock)) == 200
        status, seconds = timed_get(server.port, "/api/health", timeout=5)
        assert status == 200 and seconds < 1, f"a new client waited {seconds:.1f}s (status {status})"

        # 50 active clients, each sending a request every 50 ms or so (about 1,000 requests/s in all).
        # Every request of every attempt must be answered. The latency bound is checked on the best
        # of three attempts: the machine is shared, and another tenant's burst only ever adds
        # latency, while a stall (the defect) fails every attempt.
        attempts = []
        for _ in range(3):
            load = wrk(
                server.port,
                "/api/health",
                connections=ACTIVE,
                seconds=5,
                pause_ms=50,
                exclude_ports=frozenset(s.getsockname()[1] for s in fresh + pooled),
                tmp_path=tmp_path,
            )
            print(f"{IDLE} idle + {ACTIVE} active: {load}")
            assert load.errors == 0 and load.non2xx == 0, load
            assert load.per_connection["connections"] == ACTIVE and load.per_connection["unserved"] == 0, load
            assert load.per_connection["min"] >= 20, f"a client was served only {load.per_connection['min']} times"
            attempts.append(load.p99_ms)
            if load.p99_ms <= P99_BOUND_MS:
                break
        assert min(attempts) <= P99_BOUND_MS, f"p99 {attempts} ms with {IDLE} idle connections open"

        # The idle connections were kept, not dropped to make room.
        for sock in fresh[:25] + pooled[:25]:
            sock.sendall(request_bytes("/api/health"))
            assert status_of(read_response(sock)) == 200


def test_slowloris_cannot_hold_a_worker_and_is_cut_off_by_the_header_timeout(django_db_blocker):
    header_timeout = 3  # WEB_HEADER_TIMEOUT (production: 30 s); short here to see the cut-off
    slow_clients = 100  # more than the old connection limit (16) and than the threads (8)
    head = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 100
    server = start_server(workers=2, env={"WEB_HEADER_TIMEOUT": str(header_timeout)})
    try:
        with _sockets(slow_clients, server.port) as slow:
            closed_after: dict[int, float] = {}
            started = time.monotonic()
            stop = threading.Event()

            def drip() -> None:
                for position in range(len(head)):
                    for index, sock in enumerate(slow):
                        if index in closed_after:
                            continue
                        try:
                            sock.send(head[position : position + 1])
                            if sock.recv(1, socket.MSG_DONTWAIT) == b"":
                                closed_after[index] = time.monotonic() - started
                        except BlockingIOError:
                            pass
                        except OSError:
                            closed_after[index] = time.monotonic() - started
                    if len(closed_after) == len(slow) or stop.wait(1.0):
                        return

            dripper = threading.Thread(target=drip, daemon=True)
            dripper.start()
            waits = []
            while time.monotonic() - started < header_timeout - 0.5:
                status, seconds = timed_get(server.port, "/api/health", timeout=5)
                assert status == 200, f"a client got no answer while {slow_clients} slowloris clients dripped"
                waits.append(seconds)
                time.sleep(0.1)
            dripper.join(header_timeout + 5)
            stop.set()
            first_cut = min(closed_after.values(), default=float("nan"))
            print(
                f"new clients waited at most {max(waits) * 1000:.0f} ms; first slow client cut off at {first_cut:.1f}s"
            )
            assert max(waits) < 1, f"a new client waited {max(waits):.1f}s"
            assert len(closed_after) == slow_clients, f"{slow_clients - len(closed_after)} slow clients still connected"
            assert all(header_timeout - 0.5 <= t <= header_timeout + 3 for t in closed_after.values()), closed_after
    finally:
        server.stop()


def test_clients_that_never_read_their_responses_cannot_hold_a_worker(server, make_client):
    require_tool("ss", "iproute2")
    call_command(
        "import_memes", "memes/sample/sample_memes.csv", "--languages", "memes/sample/sample_languages.csv", verbosity=0
    )
    meme_id = Meme.objects.filter(kind=Meme.Kind.TEXT).values_list("pk", flat=True).first()
    client, key = make_client(tokens=200)
    # Once in each process first: the search index of the new catalogue and the fonts load on first use.
    for _ in range(4):
        assert status_of(http_request(server.port, f"/api/memes/{meme_id}.png", headers={"X-Token": key})) == 200
    unread = 50  # of each kind: more than the threads (8) and than the old connection limit (16)
    with (
        _sockets(unread, server.port, receive_buffer=4096) as big_files,
        _sockets(unread, server.port, receive_buffer=4096) as pictures,
    ):
        for sock in big_files:
            sock.sendall(request_bytes(BIG_STATIC, headers={"Accept-Encoding": "identity"}))
        for sock in pictures:
            sock.sendall(request_bytes(f"/api/memes/{meme_id}.png", headers={"X-Token": key}))
        # Wait until the server has done its part: every picture made and charged, every big file
        # written as far as the unread socket buffers let it.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            _stuck_responses(server.port) >= unread and _paid_calls(client) >= 4 + unread
        ):
            time.sleep(0.2)
        stuck = _stuck_responses(server.port)
        # Fewer means requests that were not even taken up: the server is stalled (or, with a machine
        # whose socket buffers hold a whole 3.9 MB file, the test would test nothing).
        assert stuck >= unread, f"only {stuck} of {unread} large responses under way after 30 s"
        assert _paid_calls(client) == 4 + unread
        for _ in range(10):
            status, seconds = timed_get(server.port, "/api/health", timeout=5)
            assert status == 200 and seconds < 1, f"health: status {status} after {seconds:.1f}s"
            status, seconds = timed_get(server.port, "/api/memes?query=cat", headers={"X-Token": key}, timeout=5)
            assert status == 200 and seconds < 1, f"paid call: status {status} after {seconds:.1f}s"


def _paid_calls(client) -> int:
    return TokenAccount.objects.get(client=client).paid_calls


def _stuck_responses(port: int) -> int:
    """Server-side connections with more than 1 MB written but not yet read by the client."""
    output = subprocess.run(
        ["ss", "-tnH", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True, check=True
    ).stdout
    return sum(1 for line in output.splitlines() if int(line.split()[1]) > 1_000_000)
