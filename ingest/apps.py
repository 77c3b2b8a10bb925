from django.apps import AppConfig
from django.conf import settings


class IngestConfig(AppConfig):
    name = "ingest"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # No threads here (the embedded settings start the in-process worker): only the metrics collector.
        if "django_prometheus" in settings.INSTALLED_APPS:
            from ingest.metrics import collector_register

            collector_register()
