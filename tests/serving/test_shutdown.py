"""SIGTERM to ``deploy/serve``: readiness turns red at once while the process keeps serving (and
closes kept-alive connections after their response), then it stops accepting, finishes the
requests in flight and exits 0. A request that never finishes cannot hold the shutdown longer
than WEB_SHUTDOWN_TIMEOUT.
"""

from __future__ import annotations

import json
import signal
import socket
import time

import pytest

from ingest.models import IngestOutbox
from tests.billing.servers import start_server
from tests.serving.conftest import header_of, http_request, read_response, request_bytes, status_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DRAIN = 2
RECORD = {"ts": "1530228282", "sender": "shutdown-test", "message": {"in": "flight"}, "priority": 2}


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


@pytest.fixture
def ingest_key(make_client):
    from django.contrib.auth.models import Group

    from accounts.roles import INGEST

    Group.objects.get_or_create(name=INGEST)
    _, key = make_client(roles=[INGEST])
    return key


def test_sigterm_turns_readiness_red_then_drains_then_finishes_the_request_in_flight(ingest_key):
    server = start_server(workers=2, env={"WEB_DRAIN_SECONDS": str(DRAIN)})
    try:
        port = server.port
        assert status_of(http_request(port, "/api/ready")) == 200
        kept_alive = socket.create_connection(("127.0.0.1", port), timeout=5)
        kept_alive.sendall(request_bytes("/api/health"))
        first = read_response(kept_alive)
        assert status_of(first) == 200 and header_of(first, "connection") is None

        # A request in flight across the whole shutdown: its headers and half its body now, the
        # rest once the server has stopped accepting new connections.
        body = json.dumps(RECORD).encode()
        in_flight = socket.create_connection(("127.0.0.1", port), timeout=30)
        head = request_bytes(
            "/api/ingest", method="POST", body=b"", headers={"X-Token": ingest_key, "Content-Type": "application/json"}
        ).replace(b"Content-Length: 0", f"Content-Length: {len(body)}".encode())
        in_flight.sendall(head + body[: len(body) // 2])
        time.sleep(0.3)  # the request reaches the application, which waits for the rest of the body

        sent = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        while status_of(ready := http_request(port, "/api/ready")) == 200:
            assert time.monotonic() - sent < 1, "readiness still green a second after SIGTERM"
            time.sleep(0.02)
        red_after = time.monotonic() - sent
        assert status_of(ready) == 503
        assert json.loads(ready.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "shutting_down"

        # Still serving while draining; responses close their connections.
        health = http_request(port, "/api/health")
        assert status_of(health) == 200 and header_of(health, "connection") == "close"
        kept_alive.sendall(request_bytes("/api/health"))
        second = read_response(kept_alive)
        assert status_of(second) == 200 and header_of(second, "connection") == "close"
        assert kept_alive.recv(1) == b"", "the kept-alive connection stays open while draining"
        kept_alive.close()

        while not _refuses_connections(port):
            assert time.monotonic() - sent < DRAIN + 3, "still accepting connections long after the drain"
            time.sleep(0.05)
        refused_after = time.monotonic() - sent
        assert refused_after >= DRAIN - 0.2, f"stopped accepting after {refused_after:.2f}s, before the drain ended"
        assert server.process.poll() is None, "exited with a request in flight"

        in_flight.sendall(body[len(body) // 2 :])
        answer = read_response(in_flight)
        in_flight.close()
        assert status_of(answer) == 202, answer
        record_id = json.loads(answer.split(b"\r\n\r\n", 1)[1])["id"]
        assert IngestOutbox.objects.filter(uuid=record_id).exists()

        assert server.process.wait(10) == 0
        exited_after = time.monotonic() - sent
        print(
            f"readiness red {red_after:.3f}s, refusing {refused_after:.2f}s, exited {exited_after:.2f}s after SIGTERM"
        )
    finally:
        server.stop()


def test_a_request_that_never_finishes_cannot_hold_the_shutdown(ingest_key):
    server = start_server(workers=1, env={"WEB_DRAIN_SECONDS": "1", "WEB_SHUTDOWN_TIMEOUT": "2"})
    try:
        stuck = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        stuck.sendall(
            b"POST /api/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"X-Token: {ingest_key}\r\nContent-Length: 1000\r\n\r\n{{".encode()
        )
        time.sleep(0.3)
        sent = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(1 + 2 + 5)
        took = time.monotonic() - sent
        assert took < 1 + 2 + 3, f"shutdown took {took:.1f}s"
        stuck.close()
    finally:
        server.stop()
