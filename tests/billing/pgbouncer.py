"""A PgBouncer of the test's own, in transaction mode, in front of the PostgreSQL of DATABASE_URL."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next((p for p in ("/usr/sbin/pgbouncer",) if os.path.exists(p)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Bouncer:
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def admin(self, command: str) -> list[list[str]]:
        """Rows of a PgBouncer admin console command (SHOW STATS, SHOW CONFIG...). psql, because the
        console speaks only the simple query protocol."""
        out = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                "pgbouncer",
                "-AtF",
                "\t",
                "-c",
                command,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        return [line.split("\t") for line in out.splitlines() if line]


@contextmanager
def running_pgbouncer(database_url: str, *, pool_size: int = 20) -> Iterator[Bouncer]:
    """Start pgbouncer (pool_mode = transaction, every database of the upstream server) on a free
    port; stop it on exit. The upstream must accept the user without a password, as our CI's does."""
    binary = pgbouncer_binary()
    if binary is None:
        raise RuntimeError("pgbouncer is not installed (Debian package pgbouncer)")
    upstream = urlsplit(database_url)
    user = upstream.username or "postgres"
    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="maas-pgbouncer-"))
    (directory / "users.txt").write_text(f'"{user}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={upstream.hostname or '127.0.0.1'} port={upstream.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'users.txt'}\nadmin_users = {user}\n"
        "pool_mode = transaction\n"
        # Fewer server connections than the tests' threads: transactions must queue for them,
        # as they do in production, where the pool is what protects PostgreSQL.
        f"default_pool_size = {pool_size}\nmax_client_conn = 500\n"
        # Server connections are closed soon after use, so the test database can be dropped.
        "server_idle_timeout = 5\nserver_lifetime = 60\n"
        f"logfile = {directory / 'pgbouncer.log'}\nlog_connections = 0\nlog_disconnections = 0\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
    )
    command = [binary, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root; -u drops to the owner of its files
        owner = "postgres"
        uid = pwd.getpwnam(owner).pw_uid
        for path in (directory, *directory.iterdir()):
            os.chown(path, uid, -1)
        command = [binary, "-u", owner, str(directory / "pgbouncer.ini")]
    # Not a pipe: nobody reads it, and pgbouncer, which also logs to stderr, would block writing to
    # a full one and stop serving (it did: every client hung). The log file has it all.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bouncer = Bouncer(port=port, user=user)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                bouncer.admin("SHOW VERSION")
                break
            except subprocess.CalledProcessError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (directory / "pgbouncer.log").read_text() if (directory / "pgbouncer.log").exists() else ""
                    raise RuntimeError(f"pgbouncer did not start: {log[-2000:]}") from None
                time.sleep(0.2)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)
