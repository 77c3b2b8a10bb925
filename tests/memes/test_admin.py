"""The Meme admin: list, search and filters load, and an edit reaches the search index."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from memes.models import Meme
from memes.selectors import meme_search

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-test-password")
    client.force_login(user)
    return client


def test_changelist_searches_and_filters(admin_client, catalogue):
    response = admin_client.get("/admin/memes/meme/", {"q": "pizza", "kind__exact": "image", "is_safe__exact": "1"})
    assert response.status_code == 200
    assert b"Scumbag Steve" in response.content and b"Paranoid Parrot" not in response.content

    response = admin_client.get("/admin/memes/meme/", {"language__exact": "es"})
    assert response.status_code == 200 and b"Gato Gru" in response.content


def test_editing_a_meme_in_the_admin_refreshes_search(admin_client, catalogue):
    meme = Meme.objects.get(source_id=111)  # pg-13: moderate profanity
    assert meme_search(query="fight anyway", rating="g") == []

    data = {field: getattr(meme, field) for field in ("template", "kind", "language")}
    data.update({"text": "fight anyway with courage", "upper_text": "", "lower_text": "", "size_bytes": ""})
    response = admin_client.post(f"/admin/memes/meme/{meme.pk}/change/", data)

    assert response.status_code == 302, response.content[:2000]
    # The edited caption is rated again (no operator decided its rating), and search sees it.
    assert [hit.id for hit in meme_search(query="fight anyway", rating="g")] == [meme.pk]
    assert Meme.objects.get(pk=meme.pk).rating == "g"
