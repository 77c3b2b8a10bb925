"""Offline reverse geocoding: nearest place within 50 km, nothing beyond, cached lookups."""

from __future__ import annotations

import pytest

from memes import geo
from memes.geo import Place, place_for


def test_paris_coordinates_resolve_to_paris_france():
    place = place_for(lat=48.8566, lon=2.3522)

    assert place is not None
    assert (place.city, place.country, place.country_code) == ("Paris", "France", "FR")
    assert place.region == "Île-de-France"
    assert place.distance_km < 5
    assert place.as_dict() == {
        "city": "Paris",
        "region": "Île-de-France",
        "country": "France",
        "country_code": "FR",
        "distance_km": place.distance_km,
    }


def test_mid_atlantic_has_no_locality():
    # The nearest GeoNames place is an island hundreds of kilometres away: say nothing.
    assert place_for(lat=0.0, lon=-30.0) is None
    assert place_for(lat=35.0, lon=-45.0) is None


def test_a_small_town_far_from_any_city_is_still_found():
    place = place_for(lat=64.1466, lon=-21.9426)  # Reykjavík
    assert place is not None and place.country_code == "IS"


def test_the_nearest_place_across_the_antimeridian_is_found():
    # Egvekinot (Chukotka) lies at 179.1 W; the point is 0.8 degree east of it across the 180th meridian.
    place = place_for(lat=66.3, lon=179.9)
    assert place is not None
    assert (place.city, place.country_code) == ("Egvekinot", "RU")
    assert place.distance_km < 50


def test_lookups_are_cached_on_rounded_coordinates():
    geo.place_cache_clear()
    first = place_for(lat=52.5200, lon=13.4050)
    hits_before = geo._place_for_rounded.cache_info().hits

    again = place_for(lat=52.52004, lon=13.40496)  # the same place to 0.01 degree

    assert again is first
    assert geo._place_for_rounded.cache_info().hits == hits_before + 1
    assert isinstance(first, Place) and first.country_code == "DE"


@pytest.mark.parametrize(("lat", "lon"), [(91, 0), (0, 181), (float("nan"), 0), (0, float("inf"))])
def test_out_of_range_coordinates_are_refused(lat, lon):
    with pytest.raises(ValueError, match="out of range"):
        place_for(lat=lat, lon=lon)
