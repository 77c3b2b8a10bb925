"""The per-request shortcuts taken for speed behave exactly like what they replace."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client as BrowserClient
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from config.negotiation import FastContentNegotiation
from config.serializers import InputSerializer
from memes.serializers import MemeSearchInputSerializer

ACCEPTS = [None, "*/*", "application/json", "text/html", "image/png", "application/*", "application/json; indent=2"]
RENDERER_SETS = [
    [JSONRenderer],
    [JSONRenderer, BrowsableAPIRenderer],
    [BrowsableAPIRenderer, JSONRenderer],
    [OpenApiYamlRenderer, OpenApiJsonRenderer],
]
QUERIES = ["", "?format=json", "?format=openapi-json", "?query=cat"]


def _negotiate(negotiation, accept, renderer_classes, query):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get("/api/x" + query, **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, [cls() for cls in renderer_classes])
    except Exception as exc:  # the same refusal (406, or 404 for an unknown ?format=) is the same outcome
        return type(exc).__name__
    return type(renderer).__name__, media_type


@pytest.mark.parametrize(
    ("accept", "renderer_classes", "query"), list(itertools.product(ACCEPTS, RENDERER_SETS, QUERIES))
)
def test_fast_negotiation_chooses_what_drf_chooses(accept, renderer_classes, query):
    expected = _negotiate(DefaultContentNegotiation(), accept, renderer_classes, query)
    assert _negotiate(FastContentNegotiation(), accept, renderer_classes, query) == expected


def test_an_unacceptable_accept_header_is_still_refused():
    request = Request(APIRequestFactory().get("/api/x", HTTP_ACCEPT="text/html"))
    with pytest.raises(NotAcceptable):
        FastContentNegotiation().select_renderer(request, [JSONRenderer()])


def test_input_serializers_validate_independently_and_leave_the_declared_fields_alone():
    declared = dict(MemeSearchInputSerializer._declared_fields)
    good = MemeSearchInputSerializer(data={"query": "cat", "lat": "45", "lon": "7"})
    bad = MemeSearchInputSerializer(data={"query": "", "lat": "91"})
    assert bad.is_valid() is False
    assert good.is_valid(), good.errors
    assert set(bad.errors) == {"query", "lat"}
    assert good.validated_data["lat"] == 45.0
    assert good.fields["query"] is not bad.fields["query"]
    assert good.fields["query"].parent is good and bad.fields["query"].parent is bad
    assert MemeSearchInputSerializer._declared_fields == declared
    assert all(field.parent is None for field in declared.values())  # never bound, so never shared


def test_input_serializer_refuses_nested_serializers():
    class Nested(InputSerializer):
        inner = MemeSearchInputSerializer()

    with pytest.raises(TypeError, match="plain fields only"):
        Nested(data={}).is_valid()


@pytest.mark.django_db
def test_the_admin_keeps_sessions_and_csrf_protection(make_client):
    client, _ = make_client(staff=True)
    client.user.set_password("s3cret-pass")
    client.user.save()
    browser = BrowserClient(enforce_csrf_checks=True)
    assert (
        browser.post("/admin/login/", {"username": client.user.username, "password": "s3cret-pass"}).status_code == 403
    )
    page = browser.get("/admin/login/")
    token = page.cookies["csrftoken"].value
    login = browser.post(
        "/admin/login/?next=/admin/",
        {"username": client.user.username, "password": "s3cret-pass", "csrfmiddlewaretoken": token},
    )
    assert login.status_code == 302 and "sessionid" in login.cookies
    assert browser.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_api_calls_get_no_cookies_and_a_session_does_not_authenticate_them(make_client):
    client, key = make_client(staff=True)
    browser = BrowserClient()
    browser.force_login(client.user)
    assert browser.get("/api/balance").status_code == 401  # the admin session is not an API credential
    response = browser.get("/api/balance", HTTP_X_TOKEN=key)
    assert response.status_code == 200
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies


def test_a_validator_added_to_one_instance_stays_with_that_instance():
    from django.core.validators import MaxValueValidator

    first = MemeSearchInputSerializer(data={"query": "cat", "limit": "5"})
    first.fields["limit"].validators.append(MaxValueValidator(2))
    assert first.is_valid() is False
    second = MemeSearchInputSerializer(data={"query": "cat", "limit": "5"})
    assert second.is_valid(), second.errors
