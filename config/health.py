"""Liveness (`/`, `/api/health`) and readiness (`/api/ready`).

Readiness means "this pod can serve", not "every dependency is up": a probe that fails on a shared
dependency takes every pod out of the Service at once and turns a partial outage into a full one.
It runs django-health-check's database and cache probes plus a broker probe and answers:

- 200 ``ready``: all answer;
- 200 ``degraded``, naming the parts that are down in ``degraded``: the cache (Redis) or the broker is
  down, which this pod serves through: without Redis, API keys are read from the database and calls
  throttled per process (accounts.credentials); without the broker, ingest still commits to the
  outbox in PostgreSQL and the workers relay it when the broker is back;
- 503 ``not_ready``: the database is down (no paid call, no ingest can be served).

It also answers 503 (``shutting_down``) from the moment ``deploy/serve`` got SIGTERM, while the
process still serves during its drain (config.lifecycle).
Liveness touches nothing but the process: a slow database must not get pods restarted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable
from rest_framework import serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from config.exceptions import ApiError, error_body
from config.lifecycle import draining


@dataclasses.dataclass
class Broker(HealthCheck):
    """Opens (and closes) a connection to the Dramatiq broker named by BROKER_URL."""

    timeout: datetime.timedelta = dataclasses.field(default=datetime.timedelta(seconds=3), repr=False)

    def run(self) -> None:
        url = settings.BROKER_URL
        try:
            if url.startswith("amqp"):
                import pika

                params = pika.URLParameters(url)
                params.socket_timeout = params.blocked_connection_timeout = 3
                pika.BlockingConnection(params).close()
            elif url.startswith(("redis", "rediss")):
                import redis

                redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
        except Exception as exc:  # any failure to reach the broker means "not ready"
            raise ServiceUnavailable(f"broker unreachable: {type(exc).__name__}") from exc


_COMPONENTS: dict[str, HealthCheck] = {"database": Database(), "cache": Cache(), "broker": Broker()}
# Without these the pod cannot serve: readiness is red. The others only degrade it.
_REQUIRED = frozenset({"database"})


class NotReady(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "not_ready"
    default_detail = "Not ready."


async def _probe_all() -> dict[str, dict[str, Any]]:
    results = await asyncio.gather(*(check.get_result(None) for check in _COMPONENTS.values()))
    return {
        name: {"ok": result.error is None, "error": str(result.error) if result.error else None}
        for name, result in zip(_COMPONENTS, results, strict=True)
    }


class ShuttingDown(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "shutting_down"
    default_detail = "Shutting down: this process is finishing its requests; send new ones elsewhere."


def _shutting_down() -> Response:
    exc = ShuttingDown()
    response = Response(error_body(exc.default_code, str(exc.detail)), status=exc.status_code)
    # Expected on every deploy, probed every second or so while draining: not an error for
    # django.request to log (log_response skips responses marked as logged).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


_COMPONENT_STATUS = inline_serializer(
    "ComponentStatus", {"ok": serializers.BooleanField(), "error": serializers.CharField(allow_null=True)}
)


@extend_schema(
    summary="Readiness probe: this pod can serve (the database answers); the cache and the broker reported",
    responses={
        200: inline_serializer(
            "Readiness",
            {
                "status": serializers.ChoiceField(choices=["ready", "degraded"]),
                "components": serializers.DictField(child=_COMPONENT_STATUS),
                "degraded": serializers.ListField(child=serializers.CharField()),
            },
        ),
        503: OpenApiResponse(
            description="`not_ready`: the database is down; `details.components` says which component failed "
            "and why; `shutting_down`: the process got SIGTERM and is draining"
        ),
    },
    tags=["operations"],
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def readiness(request: Request) -> Response:
    if draining():
        # Before the probes: a process on its way out must leave the load balancer even when its
        # database, cache and broker are fine.
        return _shutting_down()
    components = async_to_sync(_probe_all)()
    failed = [name for name, component in components.items() if not component["ok"]]
    if any(name in _REQUIRED for name in failed):
        raise NotReady(
            f"Not ready: {', '.join(failed)} unavailable.", details={"components": components, "degraded": failed}
        )
    return Response({"status": "degraded" if failed else "ready", "components": components, "degraded": failed})


@extend_schema(
    summary="Liveness probe",
    responses={200: inline_serializer("Health", {"status": serializers.CharField()})},
    tags=["operations"],
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def health(request: Request) -> Response:
    return Response({"status": "ok"})
