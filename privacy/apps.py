from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """Data rights across the apps: export everything stored about a client, erase it. Owns no
    model; it calls each app's public selectors and services."""

    name = "privacy"
