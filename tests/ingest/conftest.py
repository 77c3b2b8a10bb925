"""Fixtures for the ingest tests.

Every test run publishes to its own queue (``ingest-test-<random>``), never to the default
``ingest`` queue that a developer's worker may be consuming on the same broker; the queue and its
delay/dead-letter companions are deleted at the end. Nothing moves on its own: a test relays the
outbox with :func:`relay_all` and processes messages with the ``worker`` fixture (a Dramatiq
worker in this process, on that queue only, without the background relay).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import dramatiq
import pytest
from django.conf import settings as django_settings
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name, xq_name
from rest_framework.test import APIClient

TEST_QUEUE = f"ingest-test-{uuid.uuid4().hex[:10]}"
VALID = {
    "ts": "1530228282",
    "sender": "testy-test-service",
    "message": {"foo": "bar", "baz": "bang"},
    "sent-from-ip": "1.2.3.4",
    "priority": 2,
}


def _delete_queue(queue_name: str) -> None:
    broker = dramatiq.get_broker()
    name = type(broker).__name__
    if isinstance(broker, StubBroker):
        for queue in (queue_name, dq_name(queue_name)):
            if queue in broker.queues:
                broker.flush(queue)
        broker.dead_letters_by_queue.pop(queue_name, None)
    elif name == "RabbitmqBroker":
        import pika

        connection = pika.BlockingConnection(pika.URLParameters(django_settings.BROKER_URL))
        try:
            channel = connection.channel()
            for queue in (queue_name, dq_name(queue_name), xq_name(queue_name)):
                channel.queue_delete(queue=queue)
        finally:
            connection.close()
    elif name == "RedisBroker":
        keys = broker.client.keys(f"{broker.namespace}:{queue_name}*")
        if keys:
            broker.client.delete(*keys)


@pytest.fixture(scope="session", autouse=True)
def _test_queue() -> Iterator[str]:
    yield TEST_QUEUE
    _delete_queue(TEST_QUEUE)


@pytest.fixture(autouse=True)
def _ingest_settings(settings: Any) -> Iterator[None]:
    settings.INGEST = {
        **django_settings.INGEST,
        "QUEUE_NAME": TEST_QUEUE,
        "EMBEDDED_WORKER": False,
        "RELAY_IN_WORKER": False,
    }
    yield
    broker = dramatiq.get_broker()
    if isinstance(broker, StubBroker):  # leave no message behind for the next test
        _delete_queue(TEST_QUEUE)


@pytest.fixture
def make_client(make_client: Callable[..., Any]) -> Callable[..., Any]:
    """The project's ``make_client``, plus the role group a data migration creates: a
    transactional test's flush deletes it, and a missing group silently grants nothing."""
    from django.contrib.auth.models import Group

    from accounts.roles import INGEST

    Group.objects.get_or_create(name=INGEST)
    return make_client


@pytest.fixture
def ingest_api(make_client: Callable[..., Any]) -> tuple[APIClient, Any]:
    """An API client holding the ingest role: ``(api, client)``."""
    client, raw_key = make_client(roles=["ingest"])
    api = APIClient()
    api.credentials(HTTP_X_TOKEN=raw_key)
    return api, client


def post_record(api: APIClient, body: Any, *, content_type: str = "application/json", **extra: Any) -> Any:
    """POST a record; ``body`` is JSON-encoded unless it is already bytes or a str."""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return api.generic("POST", "/api/ingest", body, content_type=content_type, **extra)


def relay_all() -> int:
    """Relay the whole outbox to the queue now (what the relay thread does in the background)."""
    from ingest.services import outbox_relay

    total = 0
    while relayed := outbox_relay():
        total += relayed
    return total


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class WorkerHandle:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.broker = worker.broker

    def drain(self, *, timeout: float = 20.0) -> None:
        """Wait until every message of the test queue has been processed (stub broker: exactly)."""
        if isinstance(self.broker, StubBroker):
            self.broker.join(TEST_QUEUE, timeout=int(timeout * 1000), fail_fast=False)
            self.worker.join()
        else:
            raise RuntimeError("drain() is exact on the stub broker only; poll the database instead")


@pytest.fixture
def worker(transactional_db: Any) -> Iterator[WorkerHandle]:
    """A Dramatiq worker in this process, consuming the test queue only (needs committed data,
    hence a transactional database)."""
    import ingest.tasks  # noqa: F401  (declares the actors)

    broker = dramatiq.get_broker()
    broker.declare_queue(TEST_QUEUE)
    worker = Worker(broker, queues={TEST_QUEUE}, worker_threads=2, worker_timeout=50)
    worker.start()
    try:
        yield WorkerHandle(worker)
    finally:
        worker.stop(timeout=10_000)
        broker.middleware[:] = [m for m in broker.middleware if getattr(m, "worker", None) is not worker]
