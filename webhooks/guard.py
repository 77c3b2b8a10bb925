"""SSRF guard: a webhook URL must lead to the public internet, never into our own network.

A client chooses the URL and our worker POSTs to it, so without this a client could make us call
the metadata service (169.254.169.254), the database's admin port, or anything on loopback. The
name is resolved and EVERY address it resolves to must be public: one private address is enough
to refuse (an attacker's DNS may answer both). Checked when the webhook is registered (a clear
400) and again before each delivery (DNS answers change: "rebinding").

What this cannot stop: a name that resolves to a public address at the check and to a private one
a millisecond later, when the HTTP library resolves it again. Closing that needs connecting to the
checked address itself; a network policy denying the worker's egress to private ranges is the
complete answer in Kubernetes (docs/webhooks.md).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from webhooks.conf import webhooks_setting


def url_refusal(url: str) -> str | None:
    """Why a delivery to ``url`` is refused, or None when it may go."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return "the URL must start with https:// or http://"
    if not parts.hostname:
        return "the URL has no host"
    if parts.username or parts.password:
        return "the URL must not carry credentials"
    if webhooks_setting("ALLOW_PRIVATE_ADDRESSES"):
        return None
    try:
        infos = socket.getaddrinfo(
            parts.hostname, port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as exc:
        return f"the host {parts.hostname!r} does not resolve ({exc})"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            return f"the host {parts.hostname!r} resolves to {address}, which is not a public address"
    return None
