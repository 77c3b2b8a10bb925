"""The outbox relay loop: a thread in each Dramatiq worker process (started by
:class:`ingest.middleware.OutboxRelay` when the worker boots), so ``make worker`` runs it with no
extra process to deploy. Several relays share the outbox safely (``SELECT ... FOR UPDATE SKIP
LOCKED``). When the outbox is empty a relay sleeps RELAY_IDLE_SECONDS between looks.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections, connection

from ingest.conf import ingest_setting

logger = logging.getLogger("maas.ingest")

_REDELIVER_CHECK_SECONDS = 30.0


class RelayThread(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="ingest-outbox-relay", daemon=True)
        self._stop_event = threading.Event()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop_event.set()
        self.join(timeout)

    def run(self) -> None:
        from ingest.services import outbox_relay

        logger.info("outbox relay started")
        failures = 0
        next_redeliver_check = time.monotonic() + _REDELIVER_CHECK_SECONDS
        while not self._stop_event.is_set():
            relayed = 0
            try:
                close_old_connections()
                relayed = outbox_relay()
                if time.monotonic() >= next_redeliver_check:
                    next_redeliver_check = time.monotonic() + _REDELIVER_CHECK_SECONDS
                    outbox_relay(redeliver=True)
                failures = 0
            except Exception:
                # Database or broker down: the records stay in the outbox; try again, backing off.
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                logger.warning("outbox relay failed, retrying in %.1f s", delay, exc_info=True)
                connection.close()
                self._stop_event.wait(delay)
                continue
            if relayed == 0:
                self._stop_event.wait(ingest_setting("RELAY_IDLE_SECONDS"))
        connection.close()
        logger.info("outbox relay stopped")
