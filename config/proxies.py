"""The client's IP address, trusting ``X-Forwarded-For`` only from configured proxies.

Anyone can send ``X-Forwarded-For``: taken as is, a varying header gave every login attempt a new
"address" and skipped the per-address login limit (finding 6). Only the hops added by proxies we
run are believed: starting from the peer (``REMOTE_ADDR``), walk the header right to left while
the address so far is one of ``TRUSTED_PROXIES`` (networks, e.g. ``10.0.0.0/8``); the first address
that is not is the client. With no trusted proxies the header is ignored.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in trusted if item.strip())


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: Any) -> str:
    """The address of whoever sent ``request`` (a Django or DRF request), as far as we can tell."""
    meta = request.META
    address = str(meta.get("REMOTE_ADDR") or "")
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _trusted(address, networks):
        return address
    hops = [hop.strip() for hop in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage where a proxy of ours would have written an address: stop at the last good one
        address = hop
        if not _trusted(hop, networks):
            break
    return address
