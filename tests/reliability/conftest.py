"""The private stack the fault tests share (one per session: it takes ~40 s to start)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.stack import MISSING_TOOLS, Stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    if MISSING_TOOLS:
        pytest.fail(f"MAAS_REQUIRE_SERVICES=1 but {', '.join(MISSING_TOOLS)} is not installed")
    with Stack() as running:
        yield running


@pytest.fixture
def fresh_stack(stack: Stack) -> Iterator[Stack]:
    """The stack, its servers stopped and every service running again afterwards, whatever the
    test did to them."""
    yield stack
    for server in stack.servers:
        server.stop(timeout=10)
    stack.servers.clear()
    stack.restore()
