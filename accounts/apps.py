from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import checks, schema, signals  # noqa: F401  (checks, cache invalidation, OpenAPI schemes)
        from accounts.credentials import credentials_republish
        from config.cache import REDIS_OUTAGE

        # Revocations whose publish was lost while Redis was out are published again when it returns.
        REDIS_OUTAGE.on_recovery(credentials_republish)
