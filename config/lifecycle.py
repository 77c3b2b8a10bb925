"""The web process's side of a graceful shutdown.

``deploy/serve`` creates the file named by ``MAAS_DRAIN_FILE`` when it gets SIGTERM and keeps the
server running for WEB_DRAIN_SECONDS before stopping it. While the file exists the process is
*draining*: readiness answers 503 (load balancers and Kubernetes stop sending new requests) and
every response carries ``Connection: close``, so clients holding a kept-alive connection to this
process open their next one through the load balancer, to a process that stays.

A file rather than a signal: the flag must reach every granian worker process, and granian keeps
signals for itself. Checking it costs one ``stat()`` per request (about a microsecond).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from django.conf import settings

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Any]


def draining() -> bool:
    """Whether this process has been told to shut down (``deploy/serve`` got SIGTERM)."""
    path = settings.MAAS_DRAIN_FILE
    return bool(path) and os.path.exists(path)


def close_connections_when_draining(app: WSGIApp) -> WSGIApp:
    """Wrap a WSGI application so that, while draining, its responses close their connections.

    WSGI forbids hop-by-hop headers from applications (PEP 3333; wsgiref's server refuses them), so
    only wrap it under a server that honours them: granian started by ``deploy/serve``.
    """

    def application(environ: dict[str, Any], start_response: StartResponse) -> Any:
        if not draining():
            return app(environ, start_response)

        def start_closing(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = [(name, value) for name, value in headers if name.lower() != "connection"]
            return start_response(status, [*headers, ("Connection", "close")], exc_info)

        return app(environ, start_closing)

    return application
