"""deploy-check: post N ingest records to BASE with KEY from 8 threads; print each 202's id, one a
line. Any other answer fails the run (the burst must be accepted whole to count what is stored)."""

from __future__ import annotations

import sys
import threading
from typing import Any

import requests

base, key, count, sender = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ids: list[str] = []
errors: list[str] = []
lock = threading.Lock()


def post(indices: range) -> None:
    session = requests.Session()
    for i in indices:
        record: dict[str, Any] = {
            "ts": "1530228282",
            "sender": sender,
            "message": {"n": i},
            "sent-from-ip": "1.2.3.4",
            "priority": 1,
        }
        try:
            response = session.post(f"{base}/api/ingest", json=record, headers={"X-Token": key}, timeout=30)
        except requests.RequestException as exc:
            with lock:
                errors.append(repr(exc))
            continue
        with lock:
            if response.status_code == 202:
                ids.append(response.json()["id"])
            else:
                errors.append(f"{response.status_code} {response.text[:200]}")


threads = [threading.Thread(target=post, args=(range(t, count, 8),)) for t in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("\n".join(ids))
if errors:
    print(f"{len(errors)} posts not accepted, first: {errors[0]}", file=sys.stderr)
    sys.exit(1)
