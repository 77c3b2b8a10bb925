"""Fixtures for the webhook tests: a real HTTP receiver on 127.0.0.1 (which the tests allow with
WEBHOOKS ALLOW_PRIVATE_ADDRESSES, as the brief of the guard says), a queue of this run's own on the
real broker, and a Dramatiq worker in this process consuming it."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dramatiq
import pytest
from django.conf import settings as django_settings
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from tests.billing.conftest import charge_path  # noqa: F401  (the events tests run both ways of charging)
from tests.ingest.conftest import _delete_queue

TEST_QUEUE = f"webhooks-test-{uuid.uuid4().hex[:10]}"
RECEIVER_PORTS = range(9600, 9650)  # this helper's port range


class Receiver:
    """Records every POST it gets; answers ``statuses`` in turn (then 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        self.got = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.got:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.got.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        for port in RECEIVER_PORTS:
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no free port for the webhook receiver")
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        with self.got:
            self.got.wait_for(lambda: len(self.requests) >= count, timeout=timeout)
            return list(self.requests)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(request["body"]) for request in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture(scope="session", autouse=True)
def _test_queue() -> Iterator[str]:
    yield TEST_QUEUE
    _delete_queue(TEST_QUEUE)


@pytest.fixture(autouse=True)
def _webhook_settings(settings: Any) -> Iterator[None]:
    settings.WEBHOOKS = {**django_settings.WEBHOOKS, "QUEUE_NAME": TEST_QUEUE, "ALLOW_PRIVATE_ADDRESSES": True}
    # A worker started here must not relay the ingest outbox of other tests.
    settings.INGEST = {**django_settings.INGEST, "RELAY_IN_WORKER": False, "EMBEDDED_WORKER": False}
    yield
    if isinstance(dramatiq.get_broker(), StubBroker):
        _delete_queue(TEST_QUEUE)


@pytest.fixture
def worker(transactional_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    """A Dramatiq worker in this process on the test queue, retrying after 50-200 ms instead of seconds."""
    from webhooks.tasks import webhook_deliver

    monkeypatch.setitem(webhook_deliver.options, "min_backoff", 50)
    monkeypatch.setitem(webhook_deliver.options, "max_backoff", 200)
    broker = dramatiq.get_broker()
    broker.declare_queue(TEST_QUEUE)
    found = Worker(broker, queues={TEST_QUEUE}, worker_threads=2, worker_timeout=50)
    found.start()
    try:
        yield found
    finally:
        found.stop(timeout=10_000)
        broker.middleware[:] = [m for m in broker.middleware if getattr(m, "worker", None) is not found]
