"""The 252 real Shanghai townships as one level under a synthetic parent: every gap and
overlap found and measured, cross-checked against a shapely reference (union, difference,
pairwise intersection) in another metric CRS (UTM 51N)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import Connection, text

from gis.coverage import run_coverage
from tests.conftest import reference
from tests.gis.coverage.townships import PARENT, load_townships

pytestmark = [pytest.mark.slow, pytest.mark.reference_data]

#: Report every piece from 0.5 m² up (as gap or overlap when wide, sliver when thin).
SMALL = {"gap_min_m2": 0.5, "overlap_min_m2": 0.5, "sliver_min_m2": 0.5}
UTM = Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True)


@pytest.fixture(scope="module")
def towns(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connection]:
    with engine.connect() as conn:
        transaction = conn.begin()
        load_townships(
            conn, reference("shanghai_townships_wgs84.geojson"), tmp_path_factory.mktemp("towns")
        )
        try:
            yield conn
        finally:
            transaction.rollback()


def stored(conn: Connection, level: str) -> np.ndarray:
    """The stored polygons of ``level`` in UTM 51N metres (what the checks saw)."""
    wkbs = (
        conn.execute(
            text("SELECT ST_AsBinary(geom) FROM areas WHERE level = :l ORDER BY code"), {"l": level}
        )
        .scalars()
        .all()
    )
    geoms = shapely.from_wkb(list(wkbs))
    return np.asarray(shapely.transform(geoms, UTM.transform, interleaved=False), dtype=object)


def polygons(pieces: Any) -> np.ndarray:
    """Polygon parts of at least 0.5 m²."""
    parts = shapely.get_parts(np.atleast_1d(pieces))
    parts = parts[shapely.get_type_id(parts) == 3]
    return parts[shapely.area(parts) >= 0.5]


def compare(findings: list[Any], reference: np.ndarray) -> None:
    """Same pieces, same sizes: counts within 2 % (a piece touching itself at one point is
    one polygon or two depending on the coordinates the overlay ran in), totals within
    0.2 %, and every reference piece of 10 m² or more matched in place within 1 %."""
    ours = np.asarray(
        shapely.transform(
            [shapely.geometry.shape(f.geometry) for f in findings],
            UTM.transform,
            interleaved=False,
        ),
        dtype=object,
    )
    measures = np.array([f.measure for f in findings])
    assert len(reference) > 50  # the 2010-era units really leave land between them
    assert abs(len(ours) - len(reference)) <= 0.02 * len(reference)
    assert measures.sum() == pytest.approx(shapely.area(reference).sum(), rel=0.002)
    big = reference[shapely.area(reference) >= 10]
    hit_ref, hit_ours = shapely.STRtree(ours).query(
        shapely.point_on_surface(big), predicate="intersects"
    )
    assert sorted(hit_ref) == list(range(len(big)))  # each found exactly once
    assert np.allclose(measures[hit_ours], shapely.area(big[hit_ref]), rtol=0.01, atol=0.1)


def test_gaps_match_union_and_difference(towns: Connection) -> None:
    report = run_coverage(towns, checks="gap,sliver", thresholds=SMALL)
    gaps = [f for f in report.findings if f.check == "gap" or f.details["kind"] == "gap"]
    (parent,) = stored(towns, "district")
    compare(gaps, polygons(shapely.difference(parent, shapely.union_all(stored(towns, "street")))))
    assert all(f.area_code == PARENT and f.other_codes for f in report.findings)
    widths = [(f.check, f.details["width_m"]) for f in report.findings]
    assert all((w < 2.0) == (c == "sliver") for c, w in widths)


def test_overlaps_match_pairwise_intersections(towns: Connection) -> None:
    report = run_coverage(towns, checks="overlap,sliver,duplicate", thresholds=SMALL)
    kind = [
        f for f in report.findings if f.check == "overlap" or f.details.get("kind") == "overlap"
    ]
    geoms = stored(towns, "street")
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    compare(kind, polygons(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]])))
    overlaps = [f for f in report.findings if f.check == "overlap"]
    assert overlaps and all(len(f.details["shares"]) == 2 for f in overlaps)
    assert not [f for f in report.findings if f.check == "duplicate"]


def test_default_report_on_the_townships(towns: Connection) -> None:
    report = run_coverage(towns, checks="spatial")
    by = report.summary["by_check"]
    assert by["gap"] > 0 and by["overlap"] > 0 and by["sliver"] > 0
    assert by["outside_parent"] == 0 and by["duplicate"] == 0 and by["undivided"] == 0
    assert report.summary["error"] == len(report.findings)
