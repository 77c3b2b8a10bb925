"""``GET /api/memes`` (search, paid), ``GET /api/memes/{id}`` and ``GET /api/memes/{id}.png``.

Views validate, call one service in :mod:`memes.services.serving`, and shape the answer; authentication,
the premium check and throttling happen in DRF before them, from the principal alone.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.principal import principal_of
from accounts.throttling import ClientRateThrottle
from billing.services import paid_request_read
from config.idempotency import IDEMPOTENCY_PARAMETER
from config.negotiation import AcceptOnly, ErrorsAsJson, OwnFormatNegotiation
from config.schema import OwnFormatSchema
from memes.serializers import (
    ErrorEnvelopeSerializer,
    MemeByIdInputSerializer,
    MemeReportInputSerializer,
    MemeReportOutputSerializer,
    MemeSearchInputSerializer,
    PaidMemesSerializer,
    RatingInputSerializer,
)
from memes.services import Served, meme_report, meme_serve, meme_serve_by_id


def _error(description: str, code: str, message: str, details: dict[str, Any] | None = None) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorEnvelopeSerializer,
        description=description,
        examples=[OpenApiExample(code, value={"error": {"code": code, "message": message, "details": details or {}}})],
    )


# The by-id and PNG calls take `rating` (400 if not a known rating), the by-id one `format` too, and
# both `Idempotency-Key` (400 if malformed).
BY_ID_BAD_REQUEST = _error(
    "A bad `rating`, `format` (by id) or `Idempotency-Key`; `details` names it.",
    "validation_error",
    "Invalid input: rating.",
    {"rating": ['"xx" is not a valid choice.']},
)
PAID_ERRORS = {
    401: _error(
        "Missing or invalid credentials.", "not_authenticated", "Authentication credentials were not provided."
    ),
    402: _error(
        "Not enough tokens; nothing was charged.",
        "insufficient_tokens",
        "Not enough tokens: this call costs 1, the balance is 0.",
        {"balance": 0, "price": 1},
    ),
    422: _error(
        "The Idempotency-Key was used with other parameters.",
        "idempotency_key_reused",
        "This Idempotency-Key was used for a different request.",
    ),
    429: _error("Too many requests; see Retry-After.", "throttled", "Request was throttled."),
}
PNG_RESPONSE = OpenApiResponse(OpenApiTypes.BINARY, description="The meme as a PNG image (`image/png`).")


class _PngRenderer(AcceptOnly):
    """Lets content negotiation accept ``Accept: image/png``; the views return the PNG themselves."""

    media_type = "image/png"
    format = "png"


class PaidMemeApi(ErrorsAsJson, APIView):
    renderer_classes = [JSONRenderer, _PngRenderer]
    content_negotiation_class = OwnFormatNegotiation
    schema = OwnFormatSchema()

    @staticmethod
    def wants_png(request: Request, requested_format: str = "json") -> bool:
        return requested_format == "image" or request.accepted_media_type == "image/png"

    @staticmethod
    def answer(served: Served) -> HttpResponse | Response:
        charge = served.billing
        headers = {
            "X-Tokens-Charged": str(charge.charged),
            "X-Tokens-Balance": str(charge.balance),
            "Idempotent-Replayed": "true" if charge.replayed else "false",
        }
        if served.png is not None:
            headers["X-Meme-Id"] = str(served.meme_id)
            return HttpResponse(served.png, content_type="image/png", headers=headers)
        body = {
            **served.payload,
            "billing": {
                "charged": charge.charged,
                "price": charge.price,
                "balance": charge.balance,
                "replayed": charge.replayed,
            },
        }
        return Response(body, headers=headers)


class MemeSearchApi(PaidMemeApi):
    """Search the meme catalogue by words, optionally near a place; paid per meme served."""

    @extend_schema(
        operation_id="memes_search",
        summary="Get the meme that best fits a query and a place (paid)",
        description=(
            "Exact mode ranks memes whose caption or template name contain the query's words (BM25, phrase "
            "bonus). Fuzzy mode tolerates typos and prefixes (`paran` finds *paranoid*). Only memes in the "
            "requested language within the rating ceiling (`rating`, default pg-13, bounded by the client's own "
            "limit) are served, and every meme says its `rating`. With `lat`/`lon` the nearest place "
            "(GeoNames, offline, within 50 km) is returned, and memes that mention it rank higher among "
            "equally good matches. Unknown parameters are ignored.\n\n"
            "**Billing**: each meme served costs the price of its kind (text, image, AI; `format=image` costs "
            "the image price). Not enough tokens → 402 and nothing is charged; no match, bad input or any "
            "error → nothing is charged. The response says what was charged and the balance left.\n\n"
            "**Premium AI**: clients with the premium AI subscription get a newly generated meme "
            "(`kind: ai`, `generator: local|openai`)."
        ),
        parameters=[MemeSearchInputSerializer, IDEMPOTENCY_PARAMETER],
        responses={
            (200, "application/json"): PaidMemesSerializer,
            (200, "image/png"): PNG_RESPONSE,
            400: _error(
                "A parameter is missing, malformed or out of range; `details` names it.",
                "validation_error",
                "Invalid input: lat.",
                {"lat": ["Ensure this value is less than or equal to 90."]},
            ),
            **PAID_ERRORS,
            403: _error("`ai=true` without the premium AI subscription.", "premium_required", "AI memes need ..."),
            404: _error(
                "No meme matches (code `no_match`); nothing charged.",
                "no_match",
                "No matching meme in language 'en' for this query.",
                {"query": "qwxz", "lang": "en", "fuzzy": False},
            ),
        },
        tags=["memes"],
    )
    def get(self, request: Request) -> HttpResponse | Response:
        # A plain dict, not the QueryDict: DRF reads an empty value in a QueryDict as "not given",
        # and "lat=" or "lang=" should be a 400 like any other malformed value.
        params = MemeSearchInputSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        as_image = self.wants_png(request, data.pop("format"))
        paid = paid_request_read(request, params={**data, "as_image": as_image})
        served = meme_serve(principal=principal_of(request), paid=paid, as_image=as_image, **data)
        return self.answer(served)


class MemeDetailApi(PaidMemeApi):
    @extend_schema(
        operation_id="memes_retrieve",
        summary="Get one meme again by id (paid, like any meme served)",
        description="A catalogue meme, or an AI meme generated for the caller. Another client's AI meme is a 404, "
        "and so is a meme above the rating ceiling, hidden after reports, or blocked.",
        parameters=[MemeByIdInputSerializer, IDEMPOTENCY_PARAMETER],
        responses={
            (200, "application/json"): PaidMemesSerializer,
            (200, "image/png"): PNG_RESPONSE,
            400: BY_ID_BAD_REQUEST,
            **PAID_ERRORS,
            404: _error("No such meme (or not yours).", "not_found", "No meme with this id."),
        },
        tags=["memes"],
    )
    def get(self, request: Request, meme_id: int) -> HttpResponse | Response:
        params = MemeByIdInputSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        data = params.validated_data
        as_image = self.wants_png(request, data["format"])
        return self.answer(self.serve(request, meme_id, rating=data["rating"], as_image=as_image))

    @staticmethod
    def serve(request: Request, meme_id: int, *, rating: str, as_image: bool) -> Served:
        return meme_serve_by_id(
            principal=principal_of(request),
            paid=paid_request_read(request, params={"as_image": as_image, "rating": rating}),
            meme_id=meme_id,
            as_image=as_image,
            rating=rating,
        )


class MemePngApi(MemeDetailApi):
    @extend_schema(
        operation_id="memes_png",
        summary="A meme rendered as a PNG: its stable image URL (paid at the image price)",
        parameters=[RatingInputSerializer, IDEMPOTENCY_PARAMETER],
        responses={
            (200, "image/png"): PNG_RESPONSE,
            400: BY_ID_BAD_REQUEST,
            **PAID_ERRORS,
            404: _error("No such meme (or not yours).", "not_found", "No meme with this id."),
        },
        tags=["memes"],
    )
    def get(self, request: Request, meme_id: int) -> HttpResponse | Response:
        params = RatingInputSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        return self.answer(self.serve(request, meme_id, rating=params.validated_data["rating"], as_image=True))


class ReportRateThrottle(ClientRateThrottle):
    """Reports are free: their own, lower per-client limit (``reports``) on top of the usual one."""

    scope = "reports"


class MemeReportApi(APIView):
    throttle_classes = [ClientRateThrottle, ReportRateThrottle]

    @extend_schema(
        operation_id="memes_report",
        summary="Report a meme that should not be served (free)",
        description="Any authenticated client, once per meme: reporting again answers 200 and changes nothing. "
        "A meme reported by enough distinct clients (3 by default) is hidden, served nowhere, until an operator "
        "reviews it.",
        request=MemeReportInputSerializer,
        responses={
            201: MemeReportOutputSerializer,
            200: MemeReportOutputSerializer,
            400: _error("A bad reason or note.", "validation_error", "Invalid input: reason."),
            401: PAID_ERRORS[401],
            404: _error("No such meme (or not yours).", "not_found", "No meme with this id."),
            429: PAID_ERRORS[429],
        },
        tags=["memes"],
    )
    def post(self, request: Request, meme_id: int) -> Response:
        params = MemeReportInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        result = meme_report(principal=principal_of(request), meme_id=meme_id, **params.validated_data)
        body = {
            "meme": meme_id,
            "reason": result.report.reason,
            "created": result.created,
            "hidden": result.hidden,
        }
        return Response(body, status=201 if result.created else 200)
