"""Input validation and output shape of ``GET /api/memes``.

The output serializers document the response in OpenAPI; ``memes.payloads`` builds the same shape
as plain dicts, because a DRF serializer costs ~50 µs per object on a path whose whole budget is a
few milliseconds. A test keeps the two in step.
"""

from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers

from config.serializers import InputSerializer
from memes.conf import memes_setting
from memes.rating.levels import CEILINGS, DEFAULT_CEILING, LEVELS

QUERY_MAX_LENGTH = 200
LIMIT_MAX = 50


def _default_language() -> str:
    return str(memes_setting("DEFAULT_LANGUAGE"))


class FiniteFloatField(serializers.FloatField):
    """A float that is a real number: DRF's FloatField lets "NaN" through and turns "1e999" into inf."""

    default_error_messages = {"not_finite": "A finite number is required."}

    def to_internal_value(self, data: Any) -> float:
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("not_finite")
        return value


class StrictBooleanField(serializers.BooleanField):
    """Only ``true`` or ``false`` (any case), as documented; DRF would also take yes/no/on/off/1/0."""

    TRUE_VALUES = {"true", "True", "TRUE", True}
    FALSE_VALUES = {"false", "False", "FALSE", False}
    default_error_messages = {"invalid": "Must be true or false."}


class MemeSearchInputSerializer(InputSerializer):
    query = serializers.CharField(
        min_length=1, max_length=QUERY_MAX_LENGTH, help_text="Free text: words of the caption or template name."
    )
    lat = FiniteFloatField(
        required=False, min_value=-90, max_value=90, help_text="Latitude in decimal degrees; needs lon."
    )
    lon = FiniteFloatField(
        required=False, min_value=-180, max_value=180, help_text="Longitude in decimal degrees; needs lat."
    )
    fuzzy = StrictBooleanField(required=False, default=False, help_text="Typo-tolerant matching.")
    limit = serializers.IntegerField(required=False, default=1, min_value=1, max_value=LIMIT_MAX)
    lang = serializers.RegexField(
        r"^[A-Za-z]{2}$",
        required=False,
        default=_default_language,
        error_messages={"invalid": "A two-letter ISO 639-1 language code is required."},
        help_text="Language of the memes (ISO 639-1); defaults to the service's default language (en).",
    )

    ai = StrictBooleanField(
        required=False,
        default=None,
        allow_null=True,
        help_text="Premium clients get AI memes by default (`ai=false`: the catalogue instead); "
        "others get catalogue memes, and `ai=true` is a 403.",
    )
    rating = serializers.ChoiceField(
        choices=list(CEILINGS),
        required=False,
        default=DEFAULT_CEILING,
        help_text="The highest content rating to serve (g < pg < pg-13 < r; default pg-13). An operator's "
        "limit on the client applies too: the stricter of the two wins.",
    )
    format = serializers.ChoiceField(
        choices=["json", "image"],
        required=False,
        default="json",
        help_text="`image`: the meme rendered as a PNG (also chosen by `Accept: image/png`), at the image price.",
    )

    def validate_lang(self, value: str) -> str:
        return value.lower()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        has_lat, has_lon = "lat" in attrs, "lon" in attrs
        if has_lat != has_lon:
            missing = "lon" if has_lat else "lat"
            raise serializers.ValidationError({missing: ["lat and lon go together: give both or neither."]})
        return attrs


class RatingInputSerializer(InputSerializer):
    """``GET /api/memes/{id}`` and its PNG: only the ceiling, like the search's."""

    rating = serializers.ChoiceField(
        choices=list(CEILINGS),
        required=False,
        default=DEFAULT_CEILING,
        help_text="The highest content rating to serve (default pg-13); a meme above it is a 404.",
    )


class MemeByIdInputSerializer(RatingInputSerializer):
    """``GET /api/memes/{id}``: the ceiling, and ``format`` as the search takes it."""

    format = serializers.ChoiceField(
        choices=["json", "image"],
        required=False,
        default="json",
        help_text="`image`: the meme rendered as a PNG (also chosen by `Accept: image/png`), at the image price.",
    )


class MatchSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["exact", "fuzzy", "generated", "id"])
    score = serializers.FloatField(
        allow_null=True,
        help_text="exact: BM25 relevance (higher is better, unbounded); fuzzy: similarity 0-100; "
        "null for a generated meme.",
    )


class MemeHitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    template = serializers.CharField()
    text = serializers.CharField()
    kind = serializers.ChoiceField(choices=["text", "image", "ai"])
    generator = serializers.CharField(allow_null=True, help_text='"local" or "openai" for AI memes, else null.')
    image_url = serializers.CharField(
        allow_null=True, help_text="The original image (LoC web archive) or, for AI memes, the rendered PNG."
    )
    png_url = serializers.CharField(help_text="This meme rendered as a PNG (a paid call at the image price).")
    match = MatchSerializer()
    rating = serializers.ChoiceField(
        choices=list(LEVELS[:-1]), help_text="The meme's content rating: g, pg, pg-13 or r (never above the ceiling)."
    )


class PlaceSerializer(serializers.Serializer):
    city = serializers.CharField()
    region = serializers.CharField(allow_blank=True)
    country = serializers.CharField()
    country_code = serializers.CharField()
    distance_km = serializers.FloatField(help_text="From the given point to the place (GeoNames).")


class MemeSearchOutputSerializer(serializers.Serializer):
    memes = MemeHitSerializer(many=True)
    place = PlaceSerializer(
        allow_null=True, help_text="Nearest place within 50 km of lat/lon; null when none (mid-ocean) or not asked."
    )


class ChargeSerializer(serializers.Serializer):
    charged = serializers.IntegerField(help_text="Tokens this call charged (0 on an Idempotency-Key replay).")
    price = serializers.IntegerField(help_text="The price of what was served.")
    balance = serializers.IntegerField(help_text="Tokens left after this call.")
    replayed = serializers.BooleanField(help_text="True when this is the stored answer of an earlier call.")


class PaidMemesSerializer(MemeSearchOutputSerializer):
    billing = ChargeSerializer()


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text='Stable, e.g. "validation_error", "no_match".')
    message = serializers.CharField()
    details = serializers.DictField(help_text="For validation errors: the offending fields, each with its messages.")
    request_id = serializers.CharField(required=False, help_text="The request's id, as in the X-Request-ID header.")


class ErrorEnvelopeSerializer(serializers.Serializer):
    """The one error shape of the API (see config.exceptions), for the OpenAPI schema."""

    error = ErrorDetailSerializer()


class MemeReportInputSerializer(InputSerializer):
    reason = serializers.ChoiceField(
        choices=["offensive", "hateful", "sexual", "self_harm", "spam", "other"],
        help_text="Why it should not be served.",
    )
    note = serializers.CharField(required=False, default="", allow_blank=True, max_length=500)


class MemeReportOutputSerializer(serializers.Serializer):
    meme = serializers.IntegerField()
    reason = serializers.CharField()
    created = serializers.BooleanField(help_text="False when this client had reported the meme already.")
    hidden = serializers.BooleanField(help_text="True when enough clients reported it: served nowhere until reviewed.")
