"""The portal's pages. Thin like the API views: read the form, call one selector or service of
the app that owns the data, render. Every page is the signed-in client's own data only: the
client is found from the session's user, never from a URL or a form field."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import APIException, ValidationError

from accounts.selectors import api_keys_of, client_for_user, portal_principal
from accounts.services import api_key_create, api_key_revoke_own
from billing.export import csv_stream
from billing.selectors import account_balance, ledger_export_rows, usage_for
from billing.services import PaidRequest, prices
from memes.services import meme_serve
from portal.charts import usage_chart
from portal.forms import DateRangeForm, KeyCreateForm, PlaygroundForm, WebhookForm
from privacy.selectors import client_export
from webhooks.selectors import deliveries_of, webhooks_of
from webhooks.services import webhook_create, webhook_delete

CHART_DAYS = 30
HISTORY_ROWS = 500


class LoginView(auth_views.LoginView):
    """Django's login (authenticate(), so django-axes counts the failures and locks out)."""

    template_name = "portal/login.html"
    redirect_authenticated_user = True


def _client(request: HttpRequest) -> Any:
    user_id = request.user.pk
    client = client_for_user(user_id=user_id) if user_id is not None else None
    if client is None:  # an operator without a client account, or a deactivated client
        raise PermissionDenied("This account has no active client: the portal is for API clients.")
    return client


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    client = _client(request)
    usage = usage_for(client_id=client.pk, days=CHART_DAYS, recent=10)
    chart = usage_chart(usage["per_day"], days=CHART_DAYS, today=timezone.now().date())
    return render(request, "portal/dashboard.html", {"client": client, "usage": usage, "chart": chart})


@login_required
@require_http_methods(["GET", "POST"])
def keys(request: HttpRequest) -> HttpResponse:
    client = _client(request)
    new_key = None
    form = KeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _, new_key = api_key_create(client=client, name=form.cleaned_data["name"])
        form = KeyCreateForm()
    context = {"client": client, "keys": api_keys_of(client_id=client.pk), "form": form, "new_key": new_key}
    return render(request, "portal/keys.html", context)


@login_required
@require_POST
def key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    client = _client(request)
    if api_key_revoke_own(client_id=client.pk, key_id=key_id):
        messages.success(request, "The key is revoked: it stopped working at once.")
    else:
        messages.error(request, "No such key.")
    return redirect("portal:keys")


def _range(request: HttpRequest) -> tuple[DateRangeForm, datetime | None, datetime | None]:
    form = DateRangeForm(request.GET or None)
    if not form.is_valid():
        return form, None, None
    start, end = form.cleaned_data.get("start"), form.cleaned_data.get("end")
    return (
        form,
        _day_start(start) if start else None,
        _day_start(end + timedelta(days=1)) if end else None,
    )


@login_required
def usage(request: HttpRequest) -> HttpResponse:
    client = _client(request)
    form, since, until = _range(request)
    rows: list[dict[str, Any]] = []
    if not form.errors:
        found = ledger_export_rows(client_id=client.pk, since=since, until=until, newest_first=True)
        rows = list(itertools.islice(found, HISTORY_ROWS))
    context = {"client": client, "form": form, "rows": rows, "limit": HISTORY_ROWS, "query": request.GET.urlencode()}
    return render(request, "portal/usage.html", context)


@login_required
def usage_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    client = _client(request)
    form, since, until = _range(request)
    if form.errors:
        return render(request, "portal/usage.html", {"client": client, "form": form, "rows": []}, status=400)
    rows = ledger_export_rows(client_id=client.pk, since=since, until=until)
    response = StreamingHttpResponse(csv_stream(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="maas-usage-{client.pk}.csv"'
    return response


@login_required
def data_export(request: HttpRequest) -> HttpResponse:
    """Everything stored about the signed-in client, as one JSON document (the right of access)."""
    client = _client(request)
    body = json.dumps(client_export(client_id=client.pk), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="maas-data-{client.pk}.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest) -> HttpResponse:
    client = _client(request)
    form = WebhookForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _, secret = webhook_create(
                client_id=client.pk, url=data["url"], events=data["events"], threshold=data["threshold"]
            )
            form = WebhookForm()
        except ValidationError as exc:  # the SSRF guard: the URL leads somewhere it must not
            detail = exc.detail if isinstance(exc.detail, dict) else {"url": exc.detail}
            for message in detail.get("url", []):
                form.add_error("url", str(message))
        except APIException as exc:
            form.add_error(None, str(exc.detail))
    context = {
        "client": client,
        "form": form,
        "secret": secret,
        "webhooks": webhooks_of(client_id=client.pk),
        "deliveries": deliveries_of(client_id=client.pk, limit=50),
    }
    return render(request, "portal/webhooks.html", context)


@login_required
@require_POST
def webhook_remove(request: HttpRequest, webhook_id: int) -> HttpResponse:
    client = _client(request)
    try:
        webhook_delete(client_id=client.pk, webhook_id=webhook_id)
        messages.success(request, "Webhook deleted.")
    except APIException:
        messages.error(request, "No such webhook.")
    return redirect("portal:webhooks")


@login_required
@require_http_methods(["GET", "POST"])
def playground(request: HttpRequest) -> HttpResponse:
    """Query, place, rating → the rendered meme, charged like the API. The first POST only shows the
    price and asks to confirm; the second (``confirm``) serves and charges."""
    client = _client(request)
    form = PlaygroundForm(request.POST or None)
    context: dict[str, Any] = {"client": client, "form": form, "prices": prices()}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not data["confirm"]:
            context["confirming"] = True
            context["balance"] = account_balance(client_id=client.pk)
        else:
            extra = {"rating": data["rating"]} if data["rating"] else {}  # "any": the default ceiling
            paid = PaidRequest(request_ref=f"PORTAL playground query={data['query'][:200]}")
            try:
                served = meme_serve(
                    principal=portal_principal(client=client),
                    paid=paid,
                    query=data["query"],
                    lang="en",
                    fuzzy=True,
                    lat=data["lat"],
                    lon=data["lon"],
                    as_image=True,
                    **extra,
                )
            except APIException as exc:  # no match (404), not enough tokens (402), …: nothing charged
                context["error"] = str(exc.detail)
            else:
                context["meme"] = served.payload["memes"][0]
                context["billing"] = served.billing
                context["png"] = base64.b64encode(served.png or b"").decode()
    return render(request, "portal/playground.html", context)
