"""A private stack for fault tests: this test's own PostgreSQL cluster, Redis and RabbitMQ, on ports
of their own, and real servers (``deploy/serve``) pointed at them. The shared services the rest of
the suite uses are never stopped; these are, by PID, and removed afterwards.

    with Stack() as stack:                  # starts PostgreSQL, Redis, RabbitMQ; migrates; imports
        server = stack.serve()              # deploy/serve on the stack
        stack.postgres.stop(); ...; stack.postgres.start()

Ports come from the kernel (free_port), so several runs on one machine do not collide.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from tests.billing.servers import Server, free_port, start_server

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), Path("/usr/bin"))
REQUIRE_SERVICES = os.environ.get("MAAS_REQUIRE_SERVICES") == "1"
MISSING_TOOLS = [
    name
    for name, found in {
        "initdb": (PG_BIN / "initdb").exists(),
        "redis-server": shutil.which("redis-server"),
        "rabbitmq-server": Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists() or shutil.which("rabbitmq-server"),
    }.items()
    if not found
]
RECORD = {"ts": "1530228282", "sender": "fault-test", "message": {"n": 1}, "sent-from-ip": "1.2.3.4", "priority": 2}


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(what: str, predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not up within {timeout}s")


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


class Postgres:
    def __init__(self, base: Path) -> None:
        self.port = free_port()
        self.data = base / "pg"
        self.socket_dir = base / "pg-socket"
        self.log = base / "pg.log"
        self.data.mkdir()
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            for path in (base, self.data, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
        subprocess.run(
            [
                *_as_postgres(),
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/maas"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        )
        subprocess.run(
            [
                *_as_postgres(),
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def running(self) -> bool:
        status = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"]
        return subprocess.run([*_as_postgres(), *status], capture_output=True, timeout=30).returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """``fast`` closes every client connection at once, as a crash or a failover does to them."""
        subprocess.run(
            [*_as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            capture_output=True,
            timeout=60,
        )

    def create_database(self) -> None:
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "maas"],
            check=True,
            capture_output=True,
            timeout=30,
        )


class Redis:
    def __init__(self, base: Path) -> None:
        self.port = free_port()
        self.dir = base / "redis"
        self.dir.mkdir()
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait("redis", lambda: _port_open(self.port), 20)

    def pause(self) -> None:
        """Hang it: the port still accepts connections (the kernel completes the handshake), but
        nothing answers, as with a stalled host or a partitioned network."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.process is not None and self.paused:
            self.process.send_signal(signal.SIGCONT)
        self.paused = False

    def stop(self) -> None:
        self.resume()  # a stopped process would not act on SIGTERM
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


class RabbitMQ:
    """``rabbitmq-server`` as a node of its own (name, AMQP and distribution ports, data directory),
    with no plugins (the management plugin would want the shared node's port)."""

    def __init__(self, base: Path) -> None:
        self.port = free_port()
        self.dist_port = free_port()
        self.base = base / "rabbitmq"
        self.base.mkdir()
        self.name = f"maas-fault-{os.getpid()}-{self.port}@localhost"
        (self.base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.base / "enabled_plugins").write_text("[].\n")
        self.log = self.base / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
            "RABBITMQ_CONFIG_FILES": str(self.base / "conf.d"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "pid"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
        }

    def start(self, timeout: float = 120) -> None:
        (self.base / "conf.d").mkdir(exist_ok=True)
        (self.base / "rabbitmq-env.conf").touch()
        server = shutil.which("rabbitmq-server", path="/usr/lib/rabbitmq/bin") or "rabbitmq-server"
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [server], env=self._env(), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        _wait("rabbitmq", lambda: self._accepts() or self.process is None or self.process.poll() is not None, timeout)
        if self.process.poll() is not None:
            raise RuntimeError(f"rabbitmq-server exited:\n{self.log.read_text(errors='replace')[-3000:]}")

    def _accepts(self) -> bool:
        import logging

        import pika

        logging.getLogger("pika").setLevel(logging.WARNING)

        if not _port_open(self.port):
            return False
        try:
            pika.BlockingConnection(pika.URLParameters(self.url + "?socket_timeout=2")).close()
            return True
        except Exception:  # not yet booted far enough to take an AMQP session
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None


class Stack:
    """This test's own PostgreSQL (migrated, with the sample catalogue), Redis and RabbitMQ."""

    def __init__(self, *, rabbitmq: bool = True) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="maas-fault-"))
        self.postgres = Postgres(self.base)
        self.redis = Redis(self.base)
        self.rabbitmq = RabbitMQ(self.base) if rabbitmq else None
        self.servers: list[Server] = []
        self.queue = f"ingest-fault-{os.getpid()}"

    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "BROKER_URL": self.rabbitmq.url if self.rabbitmq else "",
            "CACHE_KEY_PREFIX": "maas-fault",
            "INGEST_QUEUE": self.queue,
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }

    def manage(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**os.environ, **self.env()},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
        return result.stdout

    def client_create(self, name: str, *, tokens: int = 0, roles: tuple[str, ...] = ()) -> str:
        """A new client; its API key."""
        args = ["create_client", name, "--tokens", str(tokens)]
        for role in roles:
            args += ["--role", role]
        return self.manage(*args).strip().splitlines()[-1]

    def restore(self) -> None:
        """Every service running again (after a test that failed in the middle of an outage)."""
        if not self.postgres.running():
            self.postgres.start()
        self.redis.resume()
        if self.redis.process is None:
            self.redis.start()
        if self.rabbitmq and self.rabbitmq.process is None:
            self.rabbitmq.start()

    def serve(self, **env: str) -> Server:
        server = start_server(env={**self.env(), **env})
        self.servers.append(server)
        return server

    def __enter__(self) -> Stack:
        try:
            self.postgres.start()
            self.postgres.create_database()
            self.redis.start()
            if self.rabbitmq:
                self.rabbitmq.start()
            self.manage("migrate", "--noinput")
            self.manage(
                "import_memes", "memes/sample/sample_memes.csv", "--languages", "memes/sample/sample_languages.csv"
            )
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers:
            server.stop(timeout=10)
        if self.rabbitmq:
            self.rabbitmq.stop()
        self.redis.stop()
        self.postgres.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


def get(server: Server, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(server.url(path), timeout=10, **kwargs)


def post(server: Server, path: str, **kwargs: Any) -> requests.Response:
    return requests.post(server.url(path), timeout=10, **kwargs)
