from django.apps import AppConfig


class MemesConfig(AppConfig):
    name = "memes"
    default_auto_field = "django.db.models.BigAutoField"
