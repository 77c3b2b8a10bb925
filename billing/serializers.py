from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator
from rest_framework import serializers

from billing.conf import billing_setting
from config.serializers import InputSerializer


class StrictPositiveIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: not ``true``, ``1.5``, ``5.0`` or ``"5"`` (DRF's IntegerField
    accepts the last two). Money-like amounts should not be guessed from loose input."""

    default_error_messages = {"not_integer": "Must be a JSON integer (not a string, boolean or decimal)."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_integer")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    """A JSON string only (DRF's CharField turns 12 into "12")."""

    default_error_messages = {"not_string": "Must be a JSON string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_string")
        return super().to_internal_value(data)


class TopUpInputSerializer(serializers.Serializer):
    client = StrictPositiveIntegerField(min_value=1, help_text="The client id to credit.")
    tokens = StrictPositiveIntegerField(min_value=1, help_text="Tokens to credit, 1 to BILLING_TOPUP_MAX_TOKENS.")
    purchase_id = StrictRegexField(
        r"^[\x21-\x7e]+$",
        max_length=100,
        help_text="The purchase's id in the purchasing system; a replay credits nothing.",
        error_messages={"invalid": "Use 1 to 100 visible ASCII characters, no spaces."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = int(billing_setting("TOPUP_MAX_TOKENS"))
        tokens = self.fields["tokens"]
        assert isinstance(tokens, serializers.IntegerField)
        tokens.max_value = limit  # for the schema; the validator below enforces it
        tokens.validators.append(MaxValueValidator(limit, message=f"At most {limit} tokens per top-up."))


class TopUpOutputSerializer(serializers.Serializer):
    client = serializers.IntegerField(source="client_id")
    tokens = serializers.IntegerField()
    purchase_id = serializers.CharField()
    balance = serializers.IntegerField(source="balance_after", help_text="The balance right after this credit.")
    ledger_entry = serializers.IntegerField(source="ledger_entry_id")
    created_at = serializers.DateTimeField()
    replayed = serializers.BooleanField(help_text="True: this purchase was already credited; nothing was added now.")


class ClientQuerySerializer(InputSerializer):
    client = serializers.IntegerField(
        required=False, min_value=1, help_text="Staff only: another client's id. Default: the caller."
    )


class UsageQuerySerializer(ClientQuerySerializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=366, default=30)
    recent = serializers.IntegerField(required=False, min_value=0, max_value=200, default=20)


class UsageExportQuerySerializer(ClientQuerySerializer):
    # `from` is a Python keyword: declared through the class namespace, which the metaclass reads.
    locals()["from"] = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        help_text="First day (UTC, YYYY-MM-DD), inclusive. Default: the first entry.",
    )
    to = serializers.DateField(
        required=False, input_formats=["%Y-%m-%d"], help_text="Last day (UTC, YYYY-MM-DD), inclusive. Default: today."
    )
    format = serializers.ChoiceField(choices=["csv", "json"], default="csv")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"from": ["Must not be after `to`."]})
        return attrs


class _ExportEntrySerializer(serializers.Serializer):
    """One row of the usage export (the CSV has the same columns; empty cells there are nulls here)."""

    ledger_entry_id = serializers.IntegerField()
    at = serializers.DateTimeField()
    type = serializers.ChoiceField(choices=["paid_call", "credit"])
    amount = serializers.IntegerField(help_text="Negative for a paid call.")
    balance_after = serializers.IntegerField()
    reason = serializers.CharField()
    request = serializers.CharField()
    idempotency_key = serializers.CharField(allow_null=True)
    purchase_id = serializers.CharField(allow_null=True)


class UsageExportJsonSerializer(serializers.Serializer):
    """The schema of ``GET /api/usage/export?format=json`` (written as a stream, not by this class)."""

    client_id = serializers.IntegerField()
    # Declared through the namespace like the query's `from`: a Python keyword.
    locals()["from"] = serializers.DateField(allow_null=True)
    to = serializers.DateField(allow_null=True)
    entries = _ExportEntrySerializer(many=True)


class BalanceOutputSerializer(serializers.Serializer):
    client_id = serializers.IntegerField()
    balance = serializers.IntegerField()
    prices = serializers.DictField(child=serializers.IntegerField(), help_text="Tokens per meme, by kind.")


class _UsageTotalSerializer(serializers.Serializer):
    calls = serializers.IntegerField()
    tokens_spent = serializers.IntegerField()


class _UsageDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    calls = serializers.IntegerField()
    tokens_spent = serializers.IntegerField()


class _UsageCallSerializer(serializers.Serializer):
    ledger_entry_id = serializers.IntegerField()
    at = serializers.DateTimeField()
    charged = serializers.IntegerField()
    balance_after = serializers.IntegerField()
    request = serializers.CharField()
    reason = serializers.CharField()
    idempotency_key = serializers.CharField(allow_null=True)


class UsageOutputSerializer(serializers.Serializer):
    client_id = serializers.IntegerField()
    balance = serializers.IntegerField()
    total = _UsageTotalSerializer()
    per_day = _UsageDaySerializer(many=True, help_text="Days (UTC) with paid calls, newest first.")
    recent_calls = _UsageCallSerializer(many=True, help_text="The last paid calls, newest first.")
