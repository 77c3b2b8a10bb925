"""``GET /api/memes``: response shape, validation (400 naming the field), 404 no_match, OpenAPI."""

from __future__ import annotations

import pytest

from memes.models import Meme
from memes.payloads import memes_payload
from memes.selectors import meme_search
from memes.serializers import MemeSearchOutputSerializer

pytestmark = pytest.mark.django_db
URL = "/api/memes"


def test_search_answers_the_best_meme_with_its_match(api_client, catalogue):
    response = api_client.get(URL, {"query": "paranoid"})

    assert response.status_code == 200
    meme = Meme.objects.get(source_id=101)
    body = response.json()
    assert body["place"] is None
    [hit] = body["memes"]
    assert hit == {
        "id": meme.pk,
        "template": "Paranoid Parrot",
        "text": "i heard a noise must be the paranoid neighbours",
        "kind": "image",
        "generator": None,
        "image_url": meme.image_url,
        "png_url": f"/api/memes/{meme.pk}.png",
        "match": {"type": "exact", "score": hit["match"]["score"]},
        "rating": "g",
    }
    assert hit["match"]["score"] > 0


def test_limit_fuzzy_and_lang(api_client, catalogue):
    body = api_client.get(URL, {"query": "pizza", "limit": "3"}).json()
    assert len(body["memes"]) == 3

    body = api_client.get(URL, {"query": "paran", "fuzzy": "true"}).json()
    assert body["memes"][0]["template"] == "Paranoid Parrot"
    assert body["memes"][0]["match"]["type"] == "fuzzy"

    body = api_client.get(URL, {"query": "pizza", "lang": "ES"}).json()
    assert [m["text"] for m in body["memes"]] == ["encontré la última pizza en la nevera"]


def test_a_text_meme_has_a_null_image_url(api_client, write_csv):
    from memes.services import catalogue_import
    from tests.memes.loc_files import loc_row

    catalogue_import(path=write_csv([loc_row(1, "Forever Alone", "table for one", image=False)]), progress=False)
    [hit] = api_client.get(URL, {"query": "table"}).json()["memes"]
    assert (hit["kind"], hit["image_url"]) == ("text", None)


def test_coordinates_add_the_place_and_favour_memes_that_mention_it(api_client, catalogue):
    body = api_client.get(URL, {"query": "rains all week", "lat": "52.52", "lon": "13.405"}).json()

    assert body["place"]["country_code"] == "DE"
    assert body["place"]["country"] == "Germany"
    assert set(body["place"]) == {"city", "region", "country", "country_code", "distance_km"}
    assert body["memes"][0]["text"] == "visits Berlin it rains all week"


def test_mid_ocean_coordinates_give_a_null_place(api_client, catalogue):
    body = api_client.get(URL, {"query": "pizza", "lat": "0", "lon": "-30"}).json()
    assert body["place"] is None and body["memes"]


def test_unknown_parameters_are_ignored(api_client, catalogue):
    response = api_client.get(URL, {"query": "pizza", "colour": "blue", "page": "7"})
    assert response.status_code == 200


def test_no_match_is_a_404_no_match(api_client, catalogue):
    response = api_client.get(URL, {"query": "xylophone quokka"})

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "no_match"
    assert error["details"] == {"query": "xylophone quokka", "lang": "en", "fuzzy": False}


def test_default_language_comes_from_settings(api_client, catalogue, settings):
    settings.MEMES = {**settings.MEMES, "DEFAULT_LANGUAGE": "es"}
    body = api_client.get(URL, {"query": "pizza"}).json()
    assert body["memes"][0]["text"] == "encontré la última pizza en la nevera"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "query"),
        ({"query": ""}, "query"),
        ({"query": "   "}, "query"),
        ({"query": "x" * 201}, "query"),
        ({"query": "cat", "lat": "abc", "lon": "1"}, "lat"),
        ({"query": "cat", "lat": "NaN", "lon": "1"}, "lat"),
        ({"query": "cat", "lat": "1", "lon": "nan"}, "lon"),
        ({"query": "cat", "lat": "inf", "lon": "1"}, "lat"),
        ({"query": "cat", "lat": "-Infinity", "lon": "1"}, "lat"),
        ({"query": "cat", "lat": "1e999", "lon": "1"}, "lat"),
        ({"query": "cat", "lat": "90.0001", "lon": "1"}, "lat"),
        ({"query": "cat", "lat": "-91", "lon": "1"}, "lat"),
        ({"query": "cat", "lat": "1", "lon": "180.5"}, "lon"),
        ({"query": "cat", "lat": "1", "lon": "-181"}, "lon"),
        ({"query": "cat", "lat": "1"}, "lon"),
        ({"query": "cat", "lon": "1"}, "lat"),
        ({"query": "cat", "fuzzy": "maybe"}, "fuzzy"),
        ({"query": "cat", "fuzzy": "1"}, "fuzzy"),
        ({"query": "cat", "limit": "0"}, "limit"),
        ({"query": "cat", "limit": "51"}, "limit"),
        ({"query": "cat", "limit": "ten"}, "limit"),
        ({"query": "cat", "limit": "1.5"}, "limit"),
        ({"query": "cat", "lang": "eng"}, "lang"),
        ({"query": "cat", "lang": "e1"}, "lang"),
        ({"query": "cat", "lang": ""}, "lang"),
        ({"query": "cat", "lat": "", "lon": ""}, "lat"),
        ({"query": "cat", "fuzzy": ""}, "fuzzy"),
        ({"query": "cat", "limit": ""}, "limit"),
    ],
)
def test_every_bad_parameter_is_a_400_naming_the_field(api_client, params, field):
    response = api_client.get(URL, params)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"], error
    assert field in error["message"]


def test_several_bad_parameters_are_all_named(api_client):
    error = api_client.get(URL, {"limit": "99", "fuzzy": "perhaps"}).json()["error"]
    assert set(error["details"]) == {"query", "limit", "fuzzy"}


@pytest.mark.parametrize(("lat", "lon"), [("90", "180"), ("-90", "-180"), ("0", "0")])
def test_boundary_coordinates_are_accepted(api_client, catalogue, lat, lon):
    response = api_client.get(URL, {"query": "pizza", "lat": lat, "lon": lon})
    assert response.status_code == 200


def test_other_methods_are_a_json_405(api_client):
    response = api_client.post(URL, {"query": "cat"}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_payload_matches_the_documented_output_serializer(catalogue):
    from memes.geo import place_for

    hits = meme_search(query="pizza", limit=3)
    payload = memes_payload(hits, place_for(lat=48.8566, lon=2.3522))
    serializer = MemeSearchOutputSerializer(data=payload)
    assert serializer.is_valid(), serializer.errors
    assert set(payload) == set(MemeSearchOutputSerializer().fields)
    assert set(payload["memes"][0]) == set(MemeSearchOutputSerializer().fields["memes"].child.fields)


def test_openapi_documents_the_endpoint_with_parameters_and_errors(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/memes"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) >= {"query", "lat", "lon", "fuzzy", "limit", "lang"}
    assert parameters["query"]["required"] is True
    assert parameters["query"]["schema"]["maxLength"] == 200
    assert parameters["limit"]["schema"]["maximum"] == 50
    assert parameters["lat"]["schema"]["minimum"] == -90
    assert set(operation["responses"]) >= {"200", "400", "404"}
    error_ref = operation["responses"]["404"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref.endswith("/ErrorEnvelope")
