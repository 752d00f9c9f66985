"""gis.assign.batch.parse_batch: the quick path for well-formed batches and the item-by-item
path give the same answers, and a bad item never hides behind the quick path."""

from __future__ import annotations

import math

import pytest

from gis.assign.batch import parse_batch


def test_well_formed_points_keep_ids_order_and_numbers() -> None:
    body = {"points": [{"id": "a", "lon": 121.4, "lat": 31.2}, {"lon": 121, "lat": 31}]}
    batch = parse_batch(body, max_points=10)
    assert batch.ids == ["a", 1]
    assert batch.lon.tolist() == [121.4, 121.0] and batch.lat.tolist() == [31.2, 31.0]
    assert batch.errors == [None, None]


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ({"lon": True, "lat": 31.2}, "lon: not a number"),  # bool is not a number here
        ({"lon": 121.4, "lat": "31.2"}, "lat: not a number"),
        ({"lat": 31.2}, "lon: missing"),
        ([121.4, 31.2], "item: not a JSON object"),
        ({"lon": 121.4, "lat": 95.0}, "lat: outside -90..90"),
        ({"lon": 181.0, "lat": 31.2}, "lon: outside -180..180"),
    ],
)
def test_one_bad_item_gets_its_own_error_and_the_rest_are_read(item: object, error: str) -> None:
    good = {"id": "g", "lon": 121.4, "lat": 31.2}
    batch = parse_batch({"points": [good, item, good]}, max_points=10)
    assert batch.errors == [None, error, None]
    assert batch.lon[0] == batch.lon[2] == 121.4
    assert math.isnan(batch.lon[1]) and math.isnan(batch.lat[1])
