from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsClient, role_required
from accounts.principal import Principal, principal_of
from accounts.roles import BILLING_TOPUP
from accounts.selectors import client_exists
from billing.exceptions import ClientNotFound
from billing.export import csv_stream, json_stream
from billing.selectors import account_balance, ledger_export_rows, usage_for
from billing.serializers import (
    BalanceOutputSerializer,
    ClientQuerySerializer,
    TopUpInputSerializer,
    TopUpOutputSerializer,
    UsageExportJsonSerializer,
    UsageExportQuerySerializer,
    UsageOutputSerializer,
    UsageQuerySerializer,
)
from billing.services import prices, topup_create
from config.negotiation import AcceptOnly, ErrorsAsJson, OwnFormatNegotiation
from config.schema import OwnFormatSchema

_AUTH_ERRORS = {
    401: OpenApiResponse(description="Missing, unknown, revoked or malformed credentials"),
    429: OpenApiResponse(description="Too many requests from this client; see Retry-After"),
}
_CLIENT_ERRORS = {
    400: OpenApiResponse(description="Invalid query parameter"),
    403: OpenApiResponse(description="`client` names another client and the caller is not staff"),
    404: OpenApiResponse(description="Staff asked for a client that does not exist"),
    **_AUTH_ERRORS,
}


def _target_client_id(principal: Principal, requested: int | None) -> int:
    """Whose data the caller may see: its own, or (staff only) the one it names."""
    if requested is None or requested == principal.client_id:
        return principal.client_id
    if not principal.is_staff:
        raise PermissionDenied("Only staff may read another client's billing data.")
    if not client_exists(client_id=requested):
        raise ClientNotFound(f"No client with id {requested}.")
    return requested


class BalanceApi(APIView):
    permission_classes = [IsClient]

    @extend_schema(
        summary="The caller's token balance and the price of each meme kind",
        parameters=[ClientQuerySerializer],
        responses={200: BalanceOutputSerializer, **_CLIENT_ERRORS},
        tags=["billing"],
    )
    def get(self, request: Request) -> Response:
        requested = None
        if request.query_params:  # the common call has none: skip building a serializer for nothing
            params = ClientQuerySerializer(data=request.query_params.dict())
            params.is_valid(raise_exception=True)
            requested = params.validated_data.get("client")
        client_id = _target_client_id(principal_of(request), requested)
        # Already the output shape (BalanceOutputSerializer documents it); plain ints need no serializer.
        return Response({"client_id": client_id, "balance": account_balance(client_id=client_id), "prices": prices()})


class UsageApi(APIView):
    permission_classes = [IsClient]

    @extend_schema(
        summary="The caller's paid calls and tokens spent: in total, per day, and the last calls",
        parameters=[UsageQuerySerializer],
        responses={200: UsageOutputSerializer, **_CLIENT_ERRORS},
        tags=["billing"],
    )
    def get(self, request: Request) -> Response:
        params = UsageQuerySerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        data = params.validated_data
        client_id = _target_client_id(principal_of(request), data.get("client"))
        usage = usage_for(client_id=client_id, days=data["days"], recent=data["recent"])
        return Response(UsageOutputSerializer(usage).data)


class _CsvRenderer(AcceptOnly):
    """Lets content negotiation accept ``Accept: text/csv`` (it was a 406); the view streams the CSV."""

    media_type = "text/csv"
    format = "csv"


def _day_start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=UTC)


_EXPORT_FORMATS = (
    "`format=csv` (the default): `text/csv`, a header line then one row per entry; "
    "`format=json`: `application/json`, the same entries in one document"
)


class UsageExportApi(ErrorsAsJson, APIView):
    permission_classes = [IsClient]
    renderer_classes = [JSONRenderer, _CsvRenderer]
    content_negotiation_class = OwnFormatNegotiation
    schema = OwnFormatSchema()

    @extend_schema(
        summary="Every paid call and ledger entry of the caller between two days, streamed as CSV or JSON",
        parameters=[UsageExportQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description=_EXPORT_FORMATS),
            (200, "application/json"): OpenApiResponse(UsageExportJsonSerializer, description=_EXPORT_FORMATS),
            **_CLIENT_ERRORS,
        },
        tags=["billing"],
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        params = UsageExportQuerySerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        data = params.validated_data
        client_id = _target_client_id(principal_of(request), data.get("client"))
        since, last = data.get("from"), data.get("to")
        rows = ledger_export_rows(
            client_id=client_id,
            since=_day_start(since),
            until=None if last is None else _day_start(last + timedelta(days=1)),
        )
        name = f"maas-usage-{client_id}-{since or 'start'}-{last or 'now'}.{data['format']}"
        if data["format"] == "csv":
            response = StreamingHttpResponse(csv_stream(rows), content_type="text/csv; charset=utf-8")
        else:
            stream = json_stream(rows, client_id=client_id, since=since, until=last)
            response = StreamingHttpResponse(stream, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class TopUpCreateApi(APIView):
    permission_classes = [IsClient, role_required(BILLING_TOPUP)]

    @extend_schema(
        summary="Credit a purchase of tokens to a client (purchasing team; idempotent on purchase_id)",
        request=TopUpInputSerializer,
        responses={
            201: OpenApiResponse(TopUpOutputSerializer, description="Credited now"),
            200: OpenApiResponse(TopUpOutputSerializer, description="Replay: already credited, nothing added"),
            400: OpenApiResponse(description="Not a positive whole number within the limit, or a bad purchase_id"),
            403: OpenApiResponse(description="The caller lacks the billing.topup role"),
            404: OpenApiResponse(description="No such client"),
            409: OpenApiResponse(description="purchase_id already credited with another amount or client"),
            **_AUTH_ERRORS,
        },
        tags=["billing"],
    )
    def post(self, request: Request) -> Response:
        params = TopUpInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        result = topup_create(
            client_id=data["client"],
            tokens=data["tokens"],
            purchase_id=data["purchase_id"],
            actor=f"client:{principal_of(request).client_id}",
        )
        return Response(
            TopUpOutputSerializer(result).data,
            status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED,
        )
