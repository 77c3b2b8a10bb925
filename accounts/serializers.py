from __future__ import annotations

from typing import Any

from rest_framework import serializers


class TokenObtainInputSerializer(serializers.Serializer):
    """Either an API key, or a username and password."""

    api_key = serializers.CharField(required=False, max_length=200, trim_whitespace=True)
    username = serializers.CharField(required=False, max_length=150)
    password = serializers.CharField(
        required=False, max_length=200, trim_whitespace=False, style={"input_type": "password"}
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        has_key = "api_key" in attrs
        has_login = "username" in attrs or "password" in attrs
        if has_key == has_login:
            raise serializers.ValidationError("Send either `api_key`, or `username` and `password`.")
        if has_login and not ("username" in attrs and "password" in attrs):
            raise serializers.ValidationError("Both `username` and `password` are required.")
        return attrs


class TokenRefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=2000)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Lifetime of the access token in seconds.")


class WhoAmISerializer(serializers.Serializer):
    client_id = serializers.IntegerField()
    roles = serializers.ListField(child=serializers.CharField())
    authenticated_via = serializers.ChoiceField(choices=["api_key", "jwt"])
