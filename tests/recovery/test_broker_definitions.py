"""RabbitMQ's definitions survive the loss of the node: ``deploy/recovery/broker-definitions``
exports them, the node is wiped (``rabbitmqctl reset``: what a new node without the old disk is),
and the import brings back the vhost, the user and its permissions, and the ingest queues with
their dead-letter arguments, so the app publishes and consumes at once.

Runs on a RabbitMQ node of its own (its own name, ports, data directory), never the shared one:
``MAAS_TEST_RABBIT_PORT`` (default 9372; the distribution port is the next one).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "recovery" / "broker-definitions"
PORT = int(os.environ.get("MAAS_TEST_RABBIT_PORT", "9372"))

pytestmark = pytest.mark.services


class OwnNode:
    """A throwaway RabbitMQ node. As root it runs as the ``rabbitmq`` user (the Erlang cookie and
    the data directory belong to it), like the Debian service does."""

    def __init__(self, base: Path) -> None:
        self.name = f"maas-dr-test-{uuid.uuid4().hex[:6]}@localhost"
        self.base = base
        self.process: subprocess.Popen[bytes] | None = None
        self.as_rabbitmq = os.geteuid() == 0
        (base / "enabled_plugins").write_text("[].\n")  # no management plugin: nothing on port 15672
        (base / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{PORT}\n")
        if self.as_rabbitmq:
            shutil.chown(base, "rabbitmq", "rabbitmq")
            for path in base.iterdir():
                shutil.chown(path, "rabbitmq", "rabbitmq")

    def _prefix(self) -> list[str]:
        return ["runuser", "-u", "rabbitmq", "--"] if self.as_rabbitmq else []

    def env(self) -> dict[str, str]:
        return {
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(PORT),
            "RABBITMQ_DIST_PORT": str(PORT + 1),
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),  # not /etc/rabbitmq's
        }

    def start(self) -> None:
        server = shutil.which("rabbitmq-server", path="/usr/lib/rabbitmq/bin") or "rabbitmq-server"
        env_args = [f"{k}={v}" for k, v in self.env().items()]
        log = (self.base / "server.out").open("ab")
        self.process = subprocess.Popen(
            [*self._prefix(), "env", *env_args, server],
            cwd=self.base,  # where Erlang writes a crash dump, if any
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        # await_startup gives up at once while the node is registered but not listening yet.
        deadline = time.monotonic() + 90
        while True:
            check = ["rabbitmqctl", "-n", self.name, "-q", "await_startup", "--timeout", "30"]
            if subprocess.run(check, capture_output=True, timeout=60, check=False).returncode == 0:
                return
            assert self.process.poll() is None, (self.base / "server.out").read_text()[-3000:]
            assert time.monotonic() < deadline, "the node did not start within 90 s"
            time.sleep(1)

    def ctl(self, *args: str) -> str:
        result = subprocess.run(
            ["rabbitmqctl", "-n", self.name, "-q", *args], capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, f"rabbitmqctl {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    def stop(self) -> None:
        if self.process is None:
            return
        subprocess.run(["rabbitmqctl", "-n", self.name, "stop"], capture_output=True, timeout=60, check=False)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)  # our own process group only
            self.process.wait(10)


@pytest.fixture
def own_node() -> Iterator[OwnNode]:
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("needs RabbitMQ installed (rabbitmq-server, rabbitmqctl)")
    # Not pytest's tmp_path: its parents are private to root, and the node may run as rabbitmq.
    base = Path(tempfile.mkdtemp(prefix="maas-rabbit-"))
    node = OwnNode(base)
    try:
        node.start()
        yield node
    finally:
        node.stop()
        shutil.rmtree(base, ignore_errors=True)


def _arguments(queue: dict[str, object]) -> dict[str, object]:
    return {str(item[0]): item[-1] for item in queue["arguments"]}  # type: ignore[attr-defined]


def _queues(node: OwnNode, vhost: str) -> dict[str, dict[str, object]]:
    out = node.ctl("list_queues", "-p", vhost, "--formatter", "json", "name", "durable", "arguments", "messages")
    return {q["name"]: q for q in json.loads(out)}


def test_definitions_exported_then_imported_into_a_wiped_node(own_node: OwnNode) -> None:
    from dramatiq.brokers.rabbitmq import RabbitmqBroker
    from dramatiq.common import dq_name, xq_name

    vhost, user, password = "maas", "maas-app", uuid.uuid4().hex
    own_node.ctl("add_vhost", vhost)
    own_node.ctl("add_user", user, password)
    own_node.ctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    url = f"amqp://{user}:{password}@127.0.0.1:{PORT}/{vhost}"
    queue = "ingest"
    broker = RabbitmqBroker(url=url, confirm_delivery=True)
    broker.declare_queue(queue, ensure=True)  # what the app's relay does: queue, .DQ and .XQ
    broker.close()
    before = _queues(own_node, vhost)
    assert {queue, dq_name(queue), xq_name(queue)} <= set(before)

    dump = own_node.base / "definitions.json"  # rabbitmqctl runs as the rabbitmq user under root
    env = {**os.environ, "RABBITMQ_NODE": own_node.name}
    exported = subprocess.run([str(SCRIPT), "export", str(dump)], env=env, capture_output=True, text=True, check=False)
    assert exported.returncode == 0, exported.stderr
    assert "queues=3" in exported.stdout

    # The disk is gone: the node comes back empty (no vhost, no user, no queue).
    own_node.ctl("stop_app")
    own_node.ctl("reset")
    own_node.ctl("start_app")
    assert vhost not in own_node.ctl("list_vhosts", "name").split()
    with pytest.raises(pika.exceptions.AMQPError):
        pika.BlockingConnection(pika.URLParameters(url)).close()

    started = time.monotonic()
    imported = subprocess.run([str(SCRIPT), "import", str(dump)], env=env, capture_output=True, text=True, check=False)
    assert imported.returncode == 0, imported.stderr
    print(f"definitions import took {time.monotonic() - started:.1f} s")
    after = _queues(own_node, vhost)
    for name in (queue, dq_name(queue), xq_name(queue)):
        assert after[name]["durable"] is True
        # Dead-letter routing and TTLs included (the JSON round trip may widen an integer's AMQP type).
        assert _arguments(before[name]) and _arguments(after[name]) == _arguments(before[name])
        assert after[name]["messages"] == 0  # definitions carry no messages: the outbox does

    # The app's own user and password work, and the queues take its declarations unchanged (a
    # mismatch in arguments would be a PRECONDITION_FAILED here) and carry messages end to end.
    broker = RabbitmqBroker(url=url, confirm_delivery=True)
    try:
        broker.declare_queue(queue, ensure=True)
        channel = broker.channel
        channel.basic_publish(exchange="", routing_key=queue, body=b"probe", mandatory=True)
        method, _, body = channel.basic_get(queue, auto_ack=True)
        assert method is not None and body == b"probe"
    finally:
        broker.close()


def test_the_script_refuses_bad_usage_and_missing_files(tmp_path: Path) -> None:
    assert subprocess.run([str(SCRIPT)], capture_output=True, check=False).returncode == 2
    assert subprocess.run([str(SCRIPT), "restore", "x"], capture_output=True, check=False).returncode == 2
    missing = subprocess.run([str(SCRIPT), "import", str(tmp_path / "nope.json")], capture_output=True, check=False)
    assert missing.returncode == 1 and b"cannot read" in missing.stderr
