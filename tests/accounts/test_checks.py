"""A deployment without DJANGO_SECRET_KEY is told that its JWTs will not travel between servers."""

from __future__ import annotations

from accounts.checks import signing_key_check


def test_a_generated_secret_key_is_a_deploy_warning(settings):
    settings.SECRET_KEY_FROM_ENVIRONMENT = False
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": settings.SECRET_KEY}
    [warning] = signing_key_check()
    assert warning.id == "accounts.W001"


def test_a_configured_secret_or_signing_key_is_fine(settings):
    settings.SECRET_KEY_FROM_ENVIRONMENT = True
    assert signing_key_check() == []
    settings.SECRET_KEY_FROM_ENVIRONMENT = False
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": "a-separate-jwt-key"}
    assert signing_key_check() == []
