"""Spatial checks on small, exactly known layouts drawn in metres around Shanghai: each case
is a parent grid P (100 m × 100 m) and its micro-grids, and the findings it must give."""

from __future__ import annotations

from typing import Any

import pytest
import shapely
from shapely.geometry import Polygon, box
from sqlalchemy import Connection, text

from gis.coverage import run_coverage
from gis.crs import metric_transformers

_, TO_WGS84 = metric_transformers(lon=121.40, lat=31.25)
SPATIAL = "gap,sliver,overlap,duplicate,outside_parent,degenerate,undivided,orphan"
P = box(0, 0, 100, 100)


def put(conn: Connection, rows: list[tuple[str, str, str | None, Any]]) -> None:
    """Areas of generation 1 (current); geometries in local metres."""
    conn.execute(text("INSERT INTO generations (id, state) VALUES (1, 'current')"))
    for code, level, parent, geom in rows:
        wgs = shapely.transform(geom, TO_WGS84.transform, interleaved=False)
        conn.execute(
            text(
                "INSERT INTO areas (code, level, parent_code, geom, area_m2, attributes, valid) "
                "VALUES (:c, :l, :p, ST_Multi(ST_GeomFromText(:w, 4326)), "
                "ST_Area(ST_GeomFromText(:w, 4326)::geography), '{}', int4range(1, NULL))"
            ),
            {"c": code, "l": level, "p": parent, "w": wgs.wkt},
        )


def grid(*kids: Polygon, parent: Polygon = P) -> list[tuple[str, str, str | None, Any]]:
    return [("P", "grid", None, parent)] + [
        (f"M{i + 1}", "micro_grid", "P", k) for i, k in enumerate(kids)
    ]


WEST, EAST = box(0, 0, 50, 100), box(50, 0, 100, 100)

CASES = {
    "exact tiling": (grid(WEST, EAST), []),
    "multipolygon child": (
        grid(WEST.union(box(50, 0, 100, 10)), box(50, 10, 100, 100)),
        [],
    ),
    "hole in the middle": (
        grid(WEST.difference(box(40, 40, 50, 50)), EAST.difference(box(50, 40, 60, 50))),
        [("gap", "P", ("M1", "M2"), 200.0, {"width_m": 10.0, "length_m": 20.0})],
    ),
    "gap at the edge": (
        grid(box(0, 0, 50, 90), box(50, 0, 100, 100)),
        [("gap", "P", ("M1", "M2"), 500.0, {"width_m": 10.0})],
    ),
    "tiny gap is ignored": (grid(WEST.difference(box(0, 0, 3, 3)), EAST), []),
    "sliver gap": (
        grid(WEST.difference(box(49.5, 30, 50, 70)), EAST),
        [("sliver", "P", ("M1", "M2"), 20.0, {"width_m": 0.5, "length_m": 40.0, "kind": "gap"})],
    ),
    "overlap": (
        grid(WEST.union(box(50, 0, 55, 20)), EAST),
        [("overlap", "P", ("M1", "M2"), 100.0, {"width_m": 5.0})],
    ),
    "sliver overlap": (
        grid(WEST.union(box(50, 0, 50.3, 30)), EAST),
        [("sliver", "P", ("M1", "M2"), 9.0, {"width_m": 0.3, "kind": "overlap"})],
    ),
    "duplicate": (
        grid(WEST, WEST, EAST),
        [("duplicate", "P", ("M1", "M2"), 5000.0, {})],
    ),
    "child outside its parent": (
        grid(WEST, EAST.union(box(100, 0, 105, 20))),
        [("outside_parent", "M2", ("P",), 100.0, {})],
    ),
    "degenerate child": (
        grid(WEST.difference(box(0, 0, 1, 0.5)), EAST, box(0, 0, 1, 0.5)),
        [("degenerate", "M3", ("P",), 0.5, {})],
    ),
    "orphan": (
        [*grid(WEST, EAST), ("X", "micro_grid", "GONE", box(200, 0, 210, 10))],
        [("orphan", "X", ("GONE",), 1, {})],
    ),
    "undivided sibling": (
        [
            ("S", "street", None, box(0, 0, 200, 100)),
            ("P", "grid", "S", P),
            ("Q", "grid", "S", box(100, 0, 200, 100)),
            ("M1", "micro_grid", "P", WEST),
            ("M2", "micro_grid", "P", EAST),
        ],
        [("undivided", "Q", ("S",), 10_000.0, {"missing_levels": ["micro_grid"]})],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_spatial_case(conn: Connection, case: str) -> None:
    rows, expected = CASES[case]
    put(conn, rows)
    report = run_coverage(conn, checks=SPATIAL)
    got = [(f.check, f.area_code, tuple(f.other_codes)) for f in report.findings]
    assert got == [(c, a, o) for c, a, o, _, _ in expected]
    for finding, (_, _, _, measure, details) in zip(report.findings, expected, strict=True):
        assert finding.severity == "error"
        assert finding.measure == pytest.approx(measure, rel=0.01)
        for name, value in details.items():
            got_value = finding.details[name]
            assert got_value == (
                pytest.approx(value, rel=0.01) if isinstance(value, float) else value
            )
        assert finding.geometry is not None
    if case == "tiny gap is ignored":
        assert report.summary["ignored"] == {"gap pieces below gap_min_m2": 1}


def test_overlap_states_the_share_of_each_sibling(conn: Connection) -> None:
    put(conn, grid(WEST.union(box(50, 0, 55, 20)), EAST))
    (overlap,) = run_coverage(conn, checks="overlap").findings
    assert overlap.details["shares"] == {
        "M1": pytest.approx(100 / 5100, rel=0.01),
        "M2": pytest.approx(100 / 5000, rel=0.01),
    }


def test_corridors_are_not_expected_to_tile(conn: Connection) -> None:
    put(conn, [*grid(WEST, EAST), ("C1", "corridor", "M1", box(10, 10, 20, 20))])
    assert run_coverage(conn, checks=SPATIAL).findings == []
    report = run_coverage(conn, checks="gap", thresholds={"non_tiling_levels": []})
    assert [(f.area_code, round(f.measure)) for f in report.findings] == [("M1", 4900)]
