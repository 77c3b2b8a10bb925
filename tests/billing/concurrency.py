"""Run a function from many threads released at the same instant (a barrier)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_at_once(threads: int, calls: int, call: Callable[[int], Any]) -> list[Any]:
    """Make ``calls`` calls of ``call(i)`` spread over ``threads`` threads that all start together.

    Returns each call's result, or the exception it raised, in call order. Each thread has its own
    database connection (Django's are per thread) and closes it when done.
    """
    barrier = threading.Barrier(threads)
    outcomes: list[Any] = [None] * calls

    def worker(indices: range) -> None:
        try:
            barrier.wait(timeout=30)
            for i in indices:
                try:
                    outcomes[i] = call(i)
                except Exception as exc:  # recorded and asserted on by the test
                    outcomes[i] = exc
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, args=(range(t, calls, threads),)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in pool), "a worker thread hung"
    return outcomes
