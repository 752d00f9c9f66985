"""gis.assign.buildings: footprints read in bulk, with a reason for every unusable one and the
lenient reader for what the bulk reader refuses (unclosed rings, as before)."""

from __future__ import annotations

import pytest

from gis.assign.buildings import _check_geometries, _read_geometries
from gis.errors import PayloadTooLarge

SQUARE = [[[121.0, 31.0], [121.001, 31.0], [121.001, 31.001], [121.0, 31.001], [121.0, 31.0]]]


NAN_CORNER = [float("nan"), 31.0]  # one object: the ring's ends compare equal


def feature(geometry: object) -> dict[str, object]:
    return {"type": "Feature", "properties": {}, "geometry": geometry}


def test_every_footprint_is_read_or_gets_its_reason() -> None:
    features = [
        feature({"type": "Polygon", "coordinates": SQUARE}),
        feature({"type": "MultiPolygon", "coordinates": [SQUARE]}),
        feature({"type": "Polygon", "coordinates": [SQUARE[0][:-1]]}),  # unclosed: closed
        feature(None),
        "not a feature",
        feature({"type": "Polygon", "coordinates": "nonsense"}),
        feature({"type": "Point", "coordinates": [121.0, 31.0]}),
        feature({"type": "Polygon", "coordinates": []}),
        feature({"type": "Polygon", "coordinates": [[NAN_CORNER, *SQUARE[0][1:-1], NAN_CORNER]]}),
        feature(  # a bow tie
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
        ),
    ]
    geoms = _read_geometries(features)
    errors = _check_geometries(geoms, max_vertices=1000)
    assert errors[:3] == [None, None, None]
    assert geoms[2].geom_type == "Polygon" and geoms[2].equals(geoms[0])
    assert errors[3] == errors[4] == errors[5] == "geometry: missing or not GeoJSON"
    assert errors[6] == "geometry: Point is not a non-empty polygon"
    assert errors[7] == "geometry: Polygon is not a non-empty polygon"
    assert errors[8] is not None and errors[8].startswith("geometry:")
    assert errors[9] is not None and errors[9].startswith("geometry: invalid (Self-intersection")


def test_a_footprint_over_the_vertex_limit_refuses_the_request() -> None:
    features = [feature({"type": "Polygon", "coordinates": SQUARE})] * 3
    with pytest.raises(PayloadTooLarge) as caught:
        _check_geometries(_read_geometries(features), max_vertices=4)
    assert caught.value.field == "features[0].geometry"
