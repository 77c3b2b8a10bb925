"""WSGI entry point: ``config.wsgi:application`` (``deploy/serve`` runs it under granian)."""

import logging
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from config.lifecycle import WSGIApp, close_connections_when_draining

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application: WSGIApp = get_wsgi_application()
if settings.MAAS_DRAIN_FILE:  # under deploy/serve: responses close their connections while draining
    application = close_connections_when_draining(application)


def _warm() -> None:
    """Build the search index and load the place data before the first request, not during it
    (about 4.5 s at 100k memes). A database that is not migrated yet must not stop the server."""
    try:
        from memes.selectors import memes_warm

        memes_warm()
    except Exception:  # the first request will build it and report a real error, if any
        logging.getLogger("maas.startup").warning("warm_up_skipped", exc_info=True)


if os.environ.get("MAAS_WARM_ON_START", "1") == "1":
    _warm()
