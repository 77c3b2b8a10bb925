"""Offline reverse geocoding: coordinates -> the nearest populated place.

Uses ``reverse_geocode``, which ships GeoNames' "cities1000" data (every place with at least 1,000
inhabitants, ~155k places; GeoNames, CC BY 4.0) and a k-d tree over it. Nothing leaves the machine.

What we can honestly say: the nearest GeoNames place, and how far it is. A point farther than
``MAX_DISTANCE_KM`` from every place (mid-ocean, the middle of the Sahara, Antarctica) has **no
place**: the data set has no country borders, so we cannot even name the country there, and we say
nothing rather than something wrong.

The data loads once per process (~0.7 s, on first use or via :func:`geo_warm`); lookups are
cached on coordinates rounded to 0.01 degree (about 1 km), which is finer than the data itself.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import reverse_geocode

MAX_DISTANCE_KM = 50.0
EARTH_RADIUS_KM = 6371.0088
_load_lock = threading.Lock()
_loaded = False


@dataclass(frozen=True)
class Place:
    city: str
    region: str
    country: str
    country_code: str
    distance_km: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def geo_warm() -> None:
    """Load the place data now (e.g. in a server worker before it takes traffic) instead of on first use."""
    global _loaded
    if not _loaded:
        with _load_lock:
            if not _loaded:
                reverse_geocode.search([(0.0, 0.0)])
                _loaded = True


def place_for(*, lat: float, lon: float) -> Place | None:
    """The nearest place within ``MAX_DISTANCE_KM`` of (lat, lon), or None. Raises ValueError out of range."""
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"coordinates out of range: lat={lat!r}, lon={lon!r}")
    return _place_for_rounded(round(lat, 2), round(lon, 2))


@lru_cache(maxsize=65536)
def _place_for_rounded(lat: float, lon: float) -> Place | None:
    geo_warm()
    # The library's tree measures plain degrees, so a point just west of the antimeridian does not
    # see a town just east of it: ask again with the longitude shifted by 360 degrees.
    queries = [(lat, lon)]
    if abs(lon) > 170:
        queries.append((lat, lon - 360 if lon > 0 else lon + 360))
    best: tuple[float, dict[str, Any]] | None = None
    for found in reverse_geocode.search(queries):
        distance = haversine_km(lat, lon, found["latitude"], found["longitude"])
        if best is None or distance < best[0]:
            best = (distance, found)
    if best is None or best[0] > MAX_DISTANCE_KM:
        return None
    distance, found = best
    return Place(
        city=found.get("city", ""),
        region=found.get("state", ""),
        country=found.get("country", ""),
        country_code=found.get("country_code", ""),
        distance_km=round(distance, 1),
    )


def place_cache_clear() -> None:
    _place_for_rounded.cache_clear()
