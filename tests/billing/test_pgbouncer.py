"""The billing guarantees hold through PgBouncer in transaction mode (what deploy/k8s runs).

The concurrency tests run again, in a pytest of their own, with DATABASE_URL pointing at a PgBouncer
this test starts in front of the same PostgreSQL and DATABASE_POOLER=pgbouncer: hundreds of
concurrent debits, duplicate idempotency keys and purchase ids, through fewer server connections
than threads. PgBouncer's own counters then show that the transactions went through it.

The pool (8 server connections) is smaller than the connections the tests hold at once (20
threads, or two servers' 2 x 2 x 4 threads): transactions queue for a server connection, as they do
in production, where the pool is what protects PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.billing.pgbouncer import pgbouncer_binary, running_pgbouncer

pytestmark = [pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
TESTS = ["tests/billing/test_concurrency.py", "tests/billing/test_http_concurrency.py"]


def _drop(database_url: str, name: str) -> None:
    upstream = urlsplit(database_url)
    host, port, user = upstream.hostname or "127.0.0.1", str(upstream.port or 5432), upstream.username or "postgres"
    subprocess.run(
        ["dropdb", "--if-exists", "--force", "-h", host, "-p", port, "-U", user, name],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.skipif(
    pgbouncer_binary() is None and os.environ.get("MAAS_REQUIRE_SERVICES") != "1", reason="no pgbouncer"
)
def test_billing_concurrency_tests_pass_through_pgbouncer_in_transaction_mode():
    database_url = os.environ["DATABASE_URL"]
    upstream = urlsplit(database_url)
    database = upstream.path.lstrip("/") + "_pgbouncer"  # the child's own: test_<this>
    test_database = f"test_{database}"
    _drop(database_url, test_database)
    try:
        with running_pgbouncer(database_url, pool_size=8) as bouncer:
            assert ["pool_mode", "transaction"] in [row[:2] for row in bouncer.admin("SHOW CONFIG")]
            netloc = f"{upstream.username or 'postgres'}@127.0.0.1:{bouncer.port}"
            env = {
                **os.environ,
                "DATABASE_URL": urlunsplit(upstream._replace(netloc=netloc, path=f"/{database}")),
                "DATABASE_POOLER": "pgbouncer",
            }
            # --reuse-db: the child must not drop its test database while PgBouncer still holds
            # server connections to it; this test drops it once PgBouncer is gone.
            child = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-o",
                    "addopts=",
                    "--reuse-db",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    *TESTS,
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            output = child.stdout + child.stderr
            assert child.returncode == 0, output[-6000:]
            assert " passed" in output and " failed" not in output and " error" not in output, output[-3000:]
            stats = {row[0]: row for row in bouncer.admin("SHOW STATS")}
            assert test_database in stats, f"no traffic through PgBouncer: {stats}"
            # SHOW STATS: database, total_xact_count, total_query_count, ... (PgBouncer 1.18)
            transactions = int(stats[test_database][1])
            assert transactions > 1000, stats[test_database]
    finally:
        _drop(database_url, test_database)
