"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, for the AI generator's tests.

Each request takes the next behaviour from a script (the last one repeats), and is recorded so that a
test can check what the client sent. Never talks to anything but the test's own client.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def completion(content: str) -> dict[str, Any]:
    """A chat-completions response body whose message content is ``content``."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    }


@dataclass
class Reply:
    """What the server does for one request: wait ``delay`` seconds, then answer ``status`` with ``body``."""

    status: int = 200
    body: Any = None  # dict -> JSON; str -> sent as is
    delay: float = 0.0

    @classmethod
    def caption(cls, template: str, upper: str, lower: str, *, delay: float = 0.0) -> Reply:
        content = json.dumps({"template": template, "upper": upper, "lower": lower})
        return cls(body=completion(content), delay=delay)

    @classmethod
    def content(cls, content: str) -> Reply:
        return cls(body=completion(content))


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeOpenAI:
    script: list[Reply] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                fake.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                reply = fake.script[min(len(fake.requests), len(fake.script)) - 1] if fake.script else Reply(404)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body or {})
                data = payload.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
