from __future__ import annotations

from typing import Any

from rest_framework import serializers

from webhooks.models import EventType


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.values), min_length=1, max_length=10)
    threshold = serializers.IntegerField(min_value=1, max_value=10**15, required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        wants_threshold = EventType.BALANCE_BELOW_THRESHOLD in attrs["events"]
        if wants_threshold and attrs.get("threshold") is None:
            raise serializers.ValidationError({"threshold": ["Required for balance.below_threshold."]})
        if not wants_threshold and attrs.get("threshold") is not None:
            raise serializers.ValidationError({"threshold": ["Only balance.below_threshold uses a threshold."]})
        return attrs


class WebhookOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    threshold = serializers.IntegerField(allow_null=True)
    secret_hint = serializers.CharField(help_text="The secret's last characters, to tell secrets apart.")
    created_at = serializers.DateTimeField()


class WebhookListSerializer(serializers.Serializer):
    webhooks = WebhookOutputSerializer(many=True)


class WebhookCreatedSerializer(WebhookOutputSerializer):
    secret = serializers.CharField(help_text="The signing secret. Shown this once: store it now.")


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    webhook_id = serializers.IntegerField()
    event_id = serializers.CharField()
    event_type = serializers.CharField(source="event__type")
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class DeliveryListSerializer(serializers.Serializer):
    deliveries = DeliveryOutputSerializer(many=True, help_text="Newest first.")
