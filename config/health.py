"""Liveness (`/`, `/api/health`) and readiness (`/api/ready`).

Readiness runs django-health-check's database and cache probes plus a broker probe, and answers
503 naming the component that failed, so Kubernetes stops routing to a pod that cannot serve.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from config.exceptions import error_response


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


class ReadinessView(HealthCheckView):
    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        import asyncio

        names = list(_COMPONENTS)
        results = await asyncio.gather(*(check.get_result(None) for check in _COMPONENTS.values()))
        components = {
            name: {"ok": result.error is None, "error": str(result.error) if result.error else None}
            for name, result in zip(names, results, strict=True)
        }
        failed = [name for name, c in components.items() if not c["ok"]]
        if failed:
            return error_response(
                503, f"Not ready: {', '.join(failed)} unavailable.", "not_ready", {"components": components}
            )
        return JsonResponse({"status": "ready", "components": components})


@extend_schema(
    summary="Liveness probe",
    responses={200: inline_serializer("Health", {"status": serializers.CharField()})},
    tags=["operations"],
)
@api_view(["GET"])
@permission_classes([AllowAny])
def health(request: Request) -> Response:
    return Response({"status": "ok"})


readiness = ReadinessView.as_view()

readiness_schema = extend_schema(
    summary="Readiness probe: database, cache and broker",
    responses={
        200: OpenApiResponse(description="All components answer"),
        503: OpenApiResponse(description="A component failed"),
    },
)
