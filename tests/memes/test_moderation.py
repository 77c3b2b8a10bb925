"""Reports (free, idempotent, throttled; N distinct reporters hide a meme), operators' recorded
decisions in the admin (they survive re-imports and re-rating), and ``manage.py rate_memes``."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from memes.models import Meme, MemeReport, ModerationDecision
from memes.services import catalogue_changed, catalogue_import, meme_decide

pytestmark = pytest.mark.django_db
URL = "/api/memes"


@pytest.fixture
def reporters(make_client):
    def _make(n: int):
        apis = []
        for _ in range(n):
            _, key = make_client(tokens=5)
            api = APIClient()
            api.credentials(HTTP_X_TOKEN=key)
            apis.append(api)
        return apis

    return _make


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("mod", "mod@example.com", "a-long-test-password")
    client.force_login(user)
    client.user = user
    return client


def parrot() -> Meme:
    return Meme.objects.get(source_id=101)  # Paranoid Parrot, g


def report(api: APIClient, meme: Meme, reason: str = "offensive", note: str = ""):
    return api.post(f"{URL}/{meme.pk}/report", {"reason": reason, "note": note}, format="json")


def test_a_report_is_free_and_idempotent_per_client(catalogue, reporters):
    [api] = reporters(1)
    meme = parrot()
    first = report(api, meme, "hateful", "not ok")
    assert first.status_code == 201
    assert first.json() == {"meme": meme.pk, "reason": "hateful", "created": True, "hidden": False}
    again = report(api, meme, "spam")
    assert again.status_code == 200 and again.json()["created"] is False and again.json()["reason"] == "hateful"
    assert MemeReport.objects.filter(meme=meme).count() == 1
    assert api.get("/api/balance").json()["balance"] == 5


@pytest.mark.parametrize(
    "body", [{"reason": "boring"}, {}, {"reason": "spam", "note": "x" * 501}, {"reason": ["spam"]}, ["spam"]]
)
def test_bad_reports_are_400(catalogue, reporters, body):
    [api] = reporters(1)
    response = api.post(f"{URL}/{parrot().pk}/report", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_reporting_an_unknown_or_blocked_meme_is_404_and_anonymous_is_401(catalogue, reporters):
    [api] = reporters(1)
    assert api.post(f"{URL}/999999/report", {"reason": "spam"}, format="json").status_code == 404
    blocked = Meme.objects.filter(rating="blocked").first()
    assert blocked is not None
    assert report(api, blocked).status_code == 404
    assert APIClient().post(f"{URL}/{parrot().pk}/report", {"reason": "spam"}, format="json").status_code == 401


def test_reports_are_throttled(catalogue, reporters, settings):
    from rest_framework.settings import api_settings

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "reports": "2/min"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        api_settings.reload()
        [api] = reporters(1)
        statuses = [report(api, parrot()).status_code for _ in range(3)]
    api_settings.reload()
    assert statuses == [201, 200, 429]


def test_three_distinct_reporters_hide_a_meme_everywhere(catalogue, reporters, settings):
    apis = reporters(4)
    meme = parrot()
    assert report(apis[0], meme).json()["hidden"] is False
    assert report(apis[0], meme).json()["hidden"] is False  # the same client twice counts once
    assert report(apis[1], meme).json()["hidden"] is False
    assert report(apis[2], meme).json()["hidden"] is True
    searcher = apis[3]
    assert searcher.get(URL, {"query": "paranoid"}).status_code == 404
    assert searcher.get(f"{URL}/{meme.pk}").status_code == 404
    assert searcher.get(f"{URL}/{meme.pk}.png").status_code == 404
    assert searcher.get("/api/balance").json()["balance"] == 5  # nothing charged


def test_the_threshold_is_a_setting(catalogue, reporters, settings):
    settings.MEMES = {**getattr(settings, "MEMES", {}), "REPORTS_TO_HIDE": 1}
    [api] = reporters(1)
    assert report(api, parrot()).json()["hidden"] is True


def test_the_queue_lists_reported_memes_with_reasons_and_counts(catalogue, reporters, admin_client):
    apis = reporters(2)
    report(apis[0], parrot(), "hateful")
    report(apis[1], parrot(), "spam")
    page = admin_client.get("/admin/memes/reportedmeme/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "Paranoid Parrot" in content and "hateful x1, spam x1" in content
    assert "Scumbag Steve" not in content  # not reported: not in the queue
    assert admin_client.get(f"/admin/memes/reportedmeme/{parrot().pk}/change/").status_code == 200


@pytest.mark.parametrize(
    ("action", "rating", "expected"),
    [("keep", "pg", "pg"), ("keep", "", "g"), ("rerate", "", "g"), ("block", "", "blocked")],
)
def test_admin_decisions_unhide_lock_and_are_recorded(
    catalogue, reporters, admin_client, settings, action, rating, expected
):
    settings.MEMES = {**getattr(settings, "MEMES", {}), "REPORTS_TO_HIDE": 1}
    [api] = reporters(1)
    meme = parrot()
    report(api, meme)
    response = admin_client.post(
        "/admin/memes/reportedmeme/",
        {"action": action, "_selected_action": [meme.pk], "rating": rating, "note": "checked by hand"},
    )
    assert response.status_code == 302
    meme.refresh_from_db()
    assert (meme.rating, meme.hidden, meme.rating_locked) == (expected, False, True)
    decision = ModerationDecision.objects.get(meme=meme)
    assert (decision.action, decision.rating_before, decision.rating_after, decision.was_hidden) == (
        action,
        "g",
        expected,
        True,
    )
    assert decision.operator == admin_client.user and decision.note == "checked by hand" and decision.decided_at
    served = api.get(URL, {"query": "paranoid", "rating": "r"}).status_code
    assert served == (404 if expected == "blocked" else 200)


def test_decisions_survive_a_reimport_and_a_rerating(catalogue, admin_client):
    path, languages = catalogue
    meme = Meme.objects.get(source_id=111)  # pg-13 by the rules
    meme_decide(meme=meme, operator_id=admin_client.user.pk, action="keep", rating="g", note="fine in context")
    catalogue_import(path=path, languages_path=languages, progress=False)
    out = io.StringIO()
    call_command("rate_memes", "--no-progress", stdout=out)
    meme.refresh_from_db()
    assert (meme.rating, meme.rating_locked) == ("g", True)
    assert "left to operators 1" in out.getvalue()


def test_a_report_after_a_decision_starts_a_new_count(catalogue, reporters, settings):
    settings.MEMES = {**getattr(settings, "MEMES", {}), "REPORTS_TO_HIDE": 2}
    apis = reporters(3)
    meme = parrot()
    report(apis[0], meme)
    meme_decide(meme=meme, operator_id=None, action="keep", note="")
    assert report(apis[1], meme).json()["hidden"] is False  # one report since the decision
    assert report(apis[2], meme).json()["hidden"] is True


def test_rate_memes_applies_changed_rules_idempotently(catalogue):
    Meme.objects.filter(source_id__in=[101, 111]).update(rating="r", rating_reason="stale")
    out = io.StringIO()
    call_command("rate_memes", "--no-progress", "--batch-size", "3", stdout=out)
    assert dict(Meme.objects.filter(source_id__in=[101, 111]).values_list("source_id", "rating")) == {
        101: "g",
        111: "pg-13",
    }
    assert "changed 2" in out.getvalue()
    again = io.StringIO()
    call_command("rate_memes", "--no-progress", stdout=again)
    assert "changed 0" in again.getvalue()


def test_rate_memes_refreshes_search(catalogue, reporters):
    [api] = reporters(1)
    Meme.objects.filter(source_id=111).update(rating="g", rating_reason="")  # as rated by older rules
    catalogue_changed()
    assert api.get(URL, {"query": "fight anyway", "rating": "g"}).status_code == 200
    call_command("rate_memes", "--no-progress", stdout=io.StringIO())
    assert api.get(URL, {"query": "fight anyway", "rating": "g"}).status_code == 404
