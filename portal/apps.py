from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The clients' self-service pages (/portal/): server-rendered, no model of its own; it calls
    the other apps' public selectors and services, like the API views do."""

    name = "portal"
