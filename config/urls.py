from __future__ import annotations

import sys

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health
from config.exceptions import database_unavailable_response, error_response, is_database_unavailable

urlpatterns = [
    path("", health.health, name="root"),
    path("api/health", health.health, name="health"),
    path("api/ready", health.readiness, name="ready"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # The busiest endpoints' apps first: Django tries these in order and each app that does not
    # match costs a raised and caught Resolver404 (no two apps share a path, so order is free).
    path("api/", include("memes.urls")),
    path("api/", include("ingest.urls")),
    path("api/", include("billing.urls")),
    path("api/", include("accounts.urls")),
    path("api/", include("webhooks.urls")),
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
]
if "django_prometheus" in settings.INSTALLED_APPS:
    from config.metrics_access import metrics

    urlpatterns.append(path("metrics", metrics, name="prometheus-django-metrics"))


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return error_response(404, f"No endpoint at {request.path}.", "not_found")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    # Called while the uncaught exception is being handled: a database outage met in a middleware
    # (the admin's session save, say) is a 503 to retry too, not a 500.
    exc = sys.exc_info()[1]
    if exc is not None and is_database_unavailable(exc):
        return database_unavailable_response(exc, request.path)
    if _is_api(request):
        return error_response(500, "Internal server error; it has been logged.", "server_error")
    return defaults.server_error(request)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return error_response(400, "Bad request.", "bad_request")
    return defaults.bad_request(request, exception)
