"""``/metrics`` only for the scraper: addresses in ``METRICS_ALLOWED_NETWORKS`` (default: loopback and
the private ranges a cluster's Prometheus scrapes from), and never through a proxy.

The metrics name every endpoint and its error counts: not for the public (finding 10). Prometheus
scrapes a pod directly; a request that came in through the ingress or a load balancer carries
``X-Forwarded-For`` and is refused whatever its peer address, so the ingress' own private address
cannot open the door.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from config.exceptions import error_response
from config.metrics import metrics_view


@functools.cache
def _networks(allowed: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in allowed if item.strip())


def metrics_allowed(request: HttpRequest) -> bool:
    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META:
        return False
    try:
        peer = ipaddress.ip_address(str(request.META.get("REMOTE_ADDR") or ""))
    except ValueError:
        return False
    return any(peer in network for network in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return error_response(403, "Metrics are served to the monitoring network only.", "permission_denied")
    return metrics_view(request)
