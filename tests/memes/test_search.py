"""``meme_search``: exact ranking, phrases, fuzzy typos, language and safety filters, place bonus,
index freshness and thread safety. Runs on the CATALOGUE imported by the ``catalogue`` fixture."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memes.geo import Place
from memes.models import Meme
from memes.selectors import meme_search
from memes.services import catalogue_changed, catalogue_import
from tests.memes.loc_files import loc_row

pytestmark = pytest.mark.django_db

PARIS = Place(city="Paris", region="Île-de-France", country="France", country_code="FR", distance_km=0.7)
BERLIN = Place(city="Mitte", region="State of Berlin", country="Germany", country_code="DE", distance_km=0.3)


def source_ids(hits) -> list[int]:
    return [Meme.objects.get(pk=hit.id).source_id for hit in hits]


def test_exact_search_returns_the_meme_with_its_data(catalogue):
    [hit] = meme_search(query="paranoid")

    meme = Meme.objects.get(source_id=101)
    assert (hit.id, hit.template, hit.text, hit.kind, hit.image_url, hit.language) == (
        meme.pk,
        "Paranoid Parrot",
        "i heard a noise must be the paranoid neighbours",
        "image",
        meme.image_url,
        "en",
    )
    assert hit.match == "exact" and hit.score > 0


def test_a_meme_with_every_query_word_beats_one_repeating_a_word(catalogue):
    hits = meme_search(query="slice of pizza fridge", limit=3)
    assert source_ids(hits)[0] == 104  # has slice, pizza and fridge; 107 says "pizza" twice but no fridge


def test_a_short_caption_with_the_word_ranks_above_a_long_one(catalogue):
    hits = meme_search(query="pizza", limit=4)
    assert source_ids(hits)[0] == 105  # "pizza" and nothing else
    assert sorted(source_ids(hits)) == [104, 105, 106, 107]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_the_words_in_order_as_a_phrase_rank_first(write_csv, db):
    rows = [
        loc_row(1, "Meme", "the box of pizza is square but why"),  # same words, not as a phrase
        loc_row(2, "Meme", "why is the pizza box square"),
    ]
    catalogue_import(path=write_csv(rows), progress=False)

    hits = meme_search(query="pizza box", limit=2)
    assert source_ids(hits) == [2, 1]
    assert hits[0].score > hits[1].score


def test_template_names_are_searched_too(catalogue):
    hits = meme_search(query="grumpy cat", limit=5)
    assert sorted(source_ids(hits)) == [102, 103]


def test_case_and_accents_do_not_matter(catalogue):
    assert source_ids(meme_search(query="GRUÑÓN", lang="es")) == [201]
    assert source_ids(meme_search(query="grunon", lang="es")) == [201]


def test_only_memes_of_the_requested_language_are_served(catalogue):
    assert source_ids(meme_search(query="pizza", lang="es")) == [202]
    assert meme_search(query="понедельник", lang="en") == []
    assert source_ids(meme_search(query="понедельник", lang="ru")) == [301]
    assert meme_search(query="pizza", lang="xx") == []


def test_memes_above_the_rating_ceiling_or_blocked_are_not_served(catalogue):
    # Courage Wolf's caption has moderate profanity: pg-13, served by default, not under pg.
    [hit] = meme_search(query="fight anyway")
    assert hit.rating == "pg-13"
    assert meme_search(query="fight anyway", rating="pg") == []
    assert meme_search(query="fight anyway", rating="g", fuzzy=True) == []
    assert source_ids(meme_search(query="fight anyway", rating="r")) == [111]
    assert meme_search(query="followers", rating="r") == []  # spam link: blocked
    assert meme_search(query="followers", rating="r", fuzzy=True) == []
    assert source_ids(meme_search(query="followers", include_unsafe=True)) != []


def test_no_word_of_the_query_in_the_catalogue_finds_nothing(catalogue):
    assert meme_search(query="xylophone quokka") == []
    assert meme_search(query="   ...   ") == []


def test_fuzzy_search_finds_a_word_from_its_beginning(catalogue):
    [hit] = meme_search(query="paran", fuzzy=True)
    assert source_ids([hit]) == [101]
    assert hit.match == "fuzzy" and hit.score == 100.0


def test_fuzzy_search_tolerates_typos(catalogue):
    assert source_ids(meme_search(query="paranoyd neighbors", fuzzy=True)) == [101]
    assert source_ids(meme_search(query="philosoraptr", fuzzy=True)) == [106]  # template name


def test_fuzzy_search_ranks_closer_matches_first_and_drops_weak_ones(catalogue):
    hits = meme_search(query="slice of piza", fuzzy=True, limit=10)
    assert source_ids(hits)[:2] == [104, 107]
    assert all(hit.score >= 70 for hit in hits)
    assert meme_search(query="zzqqxx", fuzzy=True) == []


def test_memes_mentioning_the_place_rank_first_among_equal_matches(catalogue):
    without_place = source_ids(meme_search(query="rains all week", limit=3))
    assert without_place == [108, 109, 110]  # equal scores: oldest first

    assert source_ids(meme_search(query="rains all week", limit=3, place=BERLIN))[0] == 110
    assert source_ids(meme_search(query="rains all week", limit=3, place=PARIS))[0] == 108
    assert source_ids(meme_search(query="rains all week", limit=1, fuzzy=True, place=BERLIN)) == [110]


def test_the_place_does_not_lift_a_clearly_worse_match(catalogue, write_csv):
    rows = [loc_row(501, "Meme", "a pizza in Paris"), loc_row(502, "Meme", "the slice of pizza fridge")]
    catalogue_import(path=write_csv(rows), progress=False)

    hits = meme_search(query="slice of pizza fridge", limit=2, place=PARIS)
    assert source_ids(hits)[0] in (104, 502)  # all four words; 501 has one word and the place


def test_identical_reposts_are_returned_once(write_csv, db):
    rows = [
        loc_row(1, "Y U No", "y u no", "answer"),
        loc_row(2, "Y U No", "Y U NO", "answer"),
        loc_row(3, "Y U No", "x"),
    ]
    languages = write_csv([[str(i), "en"] for i in (1, 2, 3)], header=["Meme ID", "Language"])
    catalogue_import(path=write_csv(rows), languages_path=languages, progress=False)

    assert source_ids(meme_search(query="answer", limit=5)) == [1]


def test_ai_generated_memes_are_not_searchable(catalogue):
    Meme.objects.create(template="Paranoid Parrot", text="paranoid robot", kind=Meme.Kind.AI, generator="local")
    catalogue_changed()
    assert source_ids(meme_search(query="paranoid", limit=5)) == [101]


def test_the_index_follows_a_reimport(catalogue, write_csv):
    assert source_ids(meme_search(query="paranoid")) == [101]

    changed = write_csv([loc_row(101, "Paranoid Parrot", "i heard a noise", "it was the cat")])
    catalogue_import(path=changed, progress=False)

    assert meme_search(query="neighbours") == []
    assert source_ids(meme_search(query="cat noise")) == [101]


def test_the_index_follows_a_change_made_by_another_process(catalogue, settings):
    settings.MEMES = {**settings.MEMES, "INDEX_CHECK_SECONDS": 0}
    assert meme_search(query="hamster") == []
    # Another process (another worker, the admin) wrote and bumped the version in the database.
    meme = Meme.objects.create(template="Dramatic Hamster", text="the hamster knows", language="en")
    from memes.models import CatalogueState

    CatalogueState.objects.update_or_create(id=1, defaults={"version": "from-elsewhere"})

    assert [hit.id for hit in meme_search(query="hamster")] == [meme.pk]


def test_a_search_makes_no_database_query_once_the_index_is_built(catalogue):
    meme_search(query="pizza")  # builds the index
    with CaptureQueriesContext(connection) as queries:
        for query in ("pizza", "paranoid", "grumpy cat"):
            assert meme_search(query=query)
        assert meme_search(query="paran", fuzzy=True, place=PARIS)
    assert len(queries) == 0


def test_concurrent_searches_share_one_index_and_agree(catalogue):
    expected = source_ids(meme_search(query="pizza", limit=4))
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for _ in range(50):
                results.append([hit.id for hit in meme_search(query="pizza", limit=4)])
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    expected_ids = [Meme.objects.get(source_id=s).pk for s in expected]
    assert len(results) == 400 and all(result == expected_ids for result in results)
