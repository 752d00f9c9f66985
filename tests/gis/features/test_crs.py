"""CRS URIs of OGC API – Features Part 2, and the local projected CRS."""

from __future__ import annotations

import pytest

from gis.crs import local_projected_epsg
from gis.errors import InvalidInput
from gis.features.crs import CRS84, output_crs, parse_crs_uri, supported_crs

SHANGHAI = supported_crs(lon=121.4, lat=31.25)


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (121.4, 31.25, 4549),  # Shanghai: CGCS2000 GK CM 120E
        (116.4, 39.9, 4548),  # Beijing: CM 117E
        (113.3, 23.1, 4547),  # Guangzhou: CM 114E
        (87.6, 43.8, 4538),  # Ürümqi: CM 87E
        (2.35, 48.85, 32631),  # Paris: UTM 31N
        (151.2, -33.9, 32756),  # Sydney: UTM 56S
    ],
)
def test_local_projected_epsg(lon: float, lat: float, epsg: int) -> None:
    assert local_projected_epsg(lon=lon, lat=lat) == epsg


def test_supported_crs_for_the_demo_street() -> None:
    assert [c.uri.rsplit("/", 1)[-1] for c in SHANGHAI] == ["CRS84", "4326", "4490", "4549"]
    # EPSG:4326, 4490 and the Gauss-Krüger zones put latitude / northing first
    assert [c.flip for c in SHANGHAI] == [False, True, True, True]


@pytest.mark.parametrize(
    ("text", "srid"),
    [
        (CRS84, 4326),
        ("[OGC:CRS84]", 4326),
        ("http://www.opengis.net/def/crs/EPSG/0/4490", 4490),
        ("https://www.opengis.net/def/crs/EPSG/0/4549", 4549),
        ("[EPSG:4490]", 4490),
        ("EPSG:4326", 4326),
    ],
)
def test_parse_crs_uri(text: str, srid: int) -> None:
    assert parse_crs_uri(text, SHANGHAI).srid == srid


@pytest.mark.parametrize(
    "text", ["EPSG:3857", "http://www.opengis.net/def/crs/EPSG/0/32651", "wgs84", "", "EPSG:x"]
)
def test_unsupported_crs_names_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_crs_uri(text, SHANGHAI, field="bbox-crs")
    assert caught.value.field == "bbox-crs" and "4490" in caught.value.reason


def test_crs84_is_unflipped_storage() -> None:
    assert output_crs(None) == SHANGHAI[0] and not SHANGHAI[0].flip
