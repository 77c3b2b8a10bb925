from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsClient
from accounts.principal import principal_of
from webhooks.selectors import deliveries_of, webhooks_of
from webhooks.serializers import (
    DeliveryListSerializer,
    DeliveryOutputSerializer,
    WebhookCreatedSerializer,
    WebhookInputSerializer,
    WebhookListSerializer,
    WebhookOutputSerializer,
)
from webhooks.services import webhook_create, webhook_delete

_AUTH_ERRORS = {
    401: OpenApiResponse(description="Missing, unknown, revoked or malformed credentials"),
    429: OpenApiResponse(description="Too many requests from this client; see Retry-After"),
}


class WebhookListCreateApi(APIView):
    permission_classes = [IsClient]

    @extend_schema(
        summary="The caller's webhooks",
        responses={200: WebhookListSerializer, **_AUTH_ERRORS},
        tags=["webhooks"],
    )
    def get(self, request: Request) -> Response:
        webhooks = webhooks_of(client_id=principal_of(request).client_id)
        return Response({"webhooks": WebhookOutputSerializer(webhooks, many=True).data})

    @extend_schema(
        summary="Register a webhook; the answer shows its signing secret once",
        request=WebhookInputSerializer,
        responses={
            201: WebhookCreatedSerializer,
            400: OpenApiResponse(
                description="Bad URL (not http(s), unresolvable, non-public address), events or threshold"
            ),
            409: OpenApiResponse(description="The client has as many webhooks as it may"),
            **_AUTH_ERRORS,
        },
        tags=["webhooks"],
    )
    def post(self, request: Request) -> Response:
        params = WebhookInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        webhook, secret = webhook_create(
            client_id=principal_of(request).client_id,
            url=data["url"],
            events=data["events"],
            threshold=data.get("threshold"),
        )
        body = {**WebhookOutputSerializer(webhook).data, "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class WebhookDeleteApi(APIView):
    permission_classes = [IsClient]

    @extend_schema(
        summary="Delete one of the caller's webhooks, with its delivery log",
        responses={204: None, 404: OpenApiResponse(description="No such webhook of the caller's"), **_AUTH_ERRORS},
        tags=["webhooks"],
    )
    def delete(self, request: Request, webhook_id: int) -> Response:
        webhook_delete(client_id=principal_of(request).client_id, webhook_id=webhook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryListApi(APIView):
    permission_classes = [IsClient]

    @extend_schema(
        summary="The caller's latest webhook deliveries (status, attempts, last error)",
        responses={200: DeliveryListSerializer, **_AUTH_ERRORS},
        tags=["webhooks"],
    )
    def get(self, request: Request) -> Response:
        deliveries = deliveries_of(client_id=principal_of(request).client_id)
        return Response({"deliveries": DeliveryOutputSerializer(deliveries, many=True).data})
