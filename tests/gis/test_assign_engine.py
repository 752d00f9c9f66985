"""gis.assign.engine: the exact point -> area index.

Every answer is checked against a brute-force shapely reference: a point is covered by the
areas whose polygon ``shapely.covers`` it, its owner is the covering area with the smallest
code, and an uncovered point's nearest area and distance come from shapely in the same local
metric CRS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely import MultiPolygon, Polygon, box

from gis.assign.engine import AreaIndex, Lookup
from gis.crs import local_metric_crs
from gis.errors import InvalidInput
from tests.conftest import REFERENCE_DATA

TOWNSHIPS = REFERENCE_DATA / "shanghai_townships_wgs84.geojson"
ADDRESSES = REFERENCE_DATA / "shanghai_covid2022_case_addresses_wgs84.geojson"
BUILDINGS = REFERENCE_DATA / "shanghai_lujiazui_osm_buildings_wgs84.geojson"

# a dyadic origin near Shanghai, so that offsets of k * 2**-n are exact doubles
X0, Y0 = 121.375, 31.125
U = 2.0**-10  # ~100 m


# ------------------------------------------------------------------------------ reference


def reference(
    codes: Sequence[str], geoms: Sequence[Polygon | MultiPolygon], x: np.ndarray, y: np.ndarray
) -> list[list[str]]:
    """Sorted codes of the areas covering each point, by brute force with shapely.covers."""
    pts = shapely.points(x, y)
    cov = np.array([shapely.covers(g, pts) for g in geoms]).reshape(len(geoms), len(x))
    return [sorted(codes[a] for a in np.flatnonzero(cov[:, i])) for i in range(len(x))]


def engine_codes(index: AreaIndex, res: Lookup) -> tuple[list[str | None], list[list[str]]]:
    owners = [index.codes[o] if o >= 0 else None for o in res.owner.tolist()]
    covering = [[index.codes[a] for a in res.covering(i).tolist()] for i in range(len(res))]
    return owners, covering


def assert_matches_reference(
    index: AreaIndex,
    codes: Sequence[str],
    geoms: Sequence[Polygon | MultiPolygon],
    x: np.ndarray,
    y: np.ndarray,
) -> Lookup:
    res = index.lookup(lon=x, lat=y)
    ref = reference(codes, geoms, x, y)
    owners, covering = engine_codes(index, res)
    for i in range(len(x)):
        want_owner = ref[i][0] if ref[i] else None
        assert (owners[i], covering[i]) == (want_owner, ref[i]), (
            f"point {i} ({x[i]!r}, {y[i]!r}): engine {owners[i]} {covering[i]}, shapely {ref[i]}"
        )
    # CSR invariants: ascending, owner first
    for i in range(len(x)):
        cov = res.covering(i)
        assert np.all(np.diff(cov) > 0)
        if cov.size:
            assert res.owner[i] == cov[0]
            assert list(res.also_covered_by(i)) == list(cov[1:])
        else:
            assert res.owner[i] == -1
    return res


def polygonal(g: shapely.Geometry) -> Polygon | MultiPolygon:
    """Repair with make_valid and keep the polygonal parts only."""
    if g.is_valid and isinstance(g, Polygon | MultiPolygon):
        return g
    parts = [p for p in shapely.get_parts(shapely.make_valid(g)) if isinstance(p, Polygon)]
    out = shapely.union_all(parts)
    assert isinstance(out, Polygon | MultiPolygon) and out.is_valid
    return out


def sq(i: float, j: float, di: float = 1, dj: float = 1) -> Polygon:
    """A box in units of U from the dyadic origin."""
    return box(X0 + i * U, Y0 + j * U, X0 + (i + di) * U, Y0 + (j + dj) * U)


def P(i: float, j: float) -> tuple[float, float]:
    return X0 + i * U, Y0 + j * U


# ------------------------------------------------------------------------------ edge cases

FOUR = {"d": sq(0, 0), "c": sq(1, 0), "b": sq(0, 1), "a": sq(1, 1)}
HOLED = {"h": Polygon(sq(0, 0, 4, 4).exterior.coords, [sq(1, 1, 2, 2).exterior.coords])}
HOLE_AND_ISLAND = {**HOLED, "g": sq(1, 1, 2, 2)}
TRIANGLES = {
    "t2": Polygon([P(0, 0), P(4, 0), P(0, 4)]),
    "t1": Polygon([P(4, 0), P(4, 4), P(0, 4)]),
}
MULTI = {"m": MultiPolygon([sq(0, 0), sq(2, 2)]), "n": sq(4, 0)}
OVERLAP = {"B": sq(1, 1, 2, 2), "A": sq(0, 0, 2, 2)}
SLIVER_H = 2.0**-40
SLIVER = {
    "s": MultiPolygon(
        [sq(0, 0), Polygon([P(2, 0), P(3, 0), (X0 + 3 * U, Y0 + SLIVER_H)])]  # 1e-12 deg thin
    )
}
DUPES = {
    "u": Polygon([P(0, 0), P(0, 0), P(2, 0), P(2, 0), P(2, 2), P(0, 2), P(0, 2), P(0, 0)]),
}
STEP = {"s": Polygon([P(0, 0), P(4, 0), P(4, 1), P(2, 1), P(2, 2), P(0, 2)])}
DIAMOND = {"q": Polygon([P(0, 1), P(1, 0), P(2, 1), P(1, 2)])}
ADJ = {"B": sq(1, 0), "A": sq(0, 0)}

E = 1e-12
CASES: list[tuple[str, dict[str, Polygon | MultiPolygon], tuple[float, float], list[str]]] = [
    ("strictly inside", FOUR, P(0.5, 0.5), ["d"]),
    ("strictly inside, other square", FOUR, P(1.25, 1.75), ["a"]),
    ("axis-aligned shared edge (vertical)", ADJ, P(1, 0.5), ["A", "B"]),
    ("axis-aligned outer edge (bottom)", ADJ, P(0.5, 0), ["A"]),
    ("axis-aligned outer edge (top)", ADJ, P(1.5, 1), ["B"]),
    ("diagonal shared edge", TRIANGLES, P(1, 3), ["t1", "t2"]),
    ("diagonal shared edge, other point", TRIANGLES, P(2.5, 1.5), ["t1", "t2"]),
    ("diagonal edge endpoint", TRIANGLES, P(4, 0), ["t1", "t2"]),
    ("just off the diagonal, t2 side", TRIANGLES, (X0 + 2 * U - E, Y0 + 2 * U), ["t2"]),
    ("just off the diagonal, t1 side", TRIANGLES, (X0 + 2 * U + E, Y0 + 2 * U), ["t1"]),
    ("shared vertex of four squares", FOUR, P(1, 1), ["a", "b", "c", "d"]),
    ("shared edge of two of four squares", FOUR, P(1, 0.5), ["c", "d"]),
    ("outer corner of four squares", FOUR, P(2, 2), ["a"]),
    ("inside a hole", HOLED, P(2, 2), []),
    ("on a hole's ring", HOLED, P(1, 2), ["h"]),
    ("on a hole's vertex", HOLED, P(3, 3), ["h"]),
    ("inside the hole's island", HOLE_AND_ISLAND, P(2, 2), ["g"]),
    ("on the ring shared by hole and island", HOLE_AND_ISLAND, P(2, 1), ["g", "h"]),
    ("multipolygon, second part", MULTI, P(2.5, 2.5), ["m"]),
    ("multipolygon, between parts", MULTI, P(1.5, 1.5), []),
    ("multipolygon, second part's corner", MULTI, P(3, 3), ["m"]),
    ("just outside (1e-12 deg east)", ADJ, (X0 + 2 * U + E, Y0 + 0.5 * U), []),
    ("just inside (1e-12 deg west)", ADJ, (X0 + 2 * U - E, Y0 + 0.5 * U), ["B"]),
    ("just outside (1e-12 deg south)", ADJ, (X0 + 0.5 * U, Y0 - E), []),
    ("overlap: in both", OVERLAP, P(1.5, 1.5), ["A", "B"]),
    ("overlap: only the later code", OVERLAP, P(2.5, 2.5), ["B"]),
    ("overlap: on B's edge inside A", OVERLAP, P(1, 1.5), ["A", "B"]),
    ("sliver part: on its bottom edge", SLIVER, P(2.5, 0), ["s"]),
    ("sliver part: on its hypotenuse", SLIVER, (X0 + 2.5 * U, Y0 + SLIVER_H / 2), ["s"]),
    ("sliver part: inside it", SLIVER, (X0 + 2.75 * U, Y0 + SLIVER_H / 2), ["s"]),
    ("sliver part: just above it", SLIVER, (X0 + 2.5 * U, Y0 + SLIVER_H), []),
    ("duplicate vertices: on the duplicated corner", DUPES, P(0, 0), ["u"]),
    ("duplicate vertices: on an edge", DUPES, P(1, 0), ["u"]),
    ("duplicate vertices: inside", DUPES, P(1, 1), ["u"]),
    ("ray along a horizontal edge: inside", STEP, P(1, 1), ["s"]),
    ("ray along a horizontal edge: on it", STEP, P(3, 1), ["s"]),
    ("ray along a horizontal edge: outside", STEP, P(-1, 1), []),
    ("ray through a vertex: inside", DIAMOND, P(0.5, 1), ["q"]),
    ("ray through two vertices: outside", DIAMOND, P(-0.5, 1), []),
    ("on the leftmost vertex", DIAMOND, P(0, 1), ["q"]),
    ("outside the grid box", FOUR, P(5, 5), []),
    ("outside the grid box, far", FOUR, (-179.0, -89.0), []),
    ("out of range", FOUR, (200.0, 100.0), []),
    ("NaN lon", FOUR, (math.nan, Y0), []),
    ("NaN lat", FOUR, (X0, math.nan), []),
    ("infinite lon", FOUR, (math.inf, Y0), []),
]


@pytest.mark.parametrize(
    ("areas", "pt", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_edge_cases(
    areas: dict[str, Polygon | MultiPolygon], pt: tuple[float, float], expected: list[str]
) -> None:
    codes, geoms = list(areas), list(areas.values())
    index = AreaIndex.build(codes, geoms)
    x, y = np.array([pt[0]]), np.array([pt[1]])
    res = assert_matches_reference(index, codes, geoms, x, y)
    owners, covering = engine_codes(index, res)
    assert covering[0] == expected
    assert owners[0] == (expected[0] if expected else None)
    also = [index.codes[a] for a in res.also_covered_by(0)]
    assert also == expected[1:]


def test_all_edge_case_points_in_one_batch() -> None:
    """Mixing uniform-cell, boundary-cell and exact-fallback points in one call."""
    codes, geoms = list(FOUR), list(FOUR.values())
    index = AreaIndex.build(codes, geoms)
    rng = np.random.default_rng(7)
    x = X0 + rng.integers(-1, 10, 500) * U / 4
    y = Y0 + rng.integers(-1, 10, 500) * U / 4
    x = np.concatenate([x, X0 + rng.uniform(-0.5, 2.5, 500) * U, [math.nan]])
    y = np.concatenate([y, Y0 + rng.uniform(-0.5, 2.5, 500) * U, [Y0]])
    res = assert_matches_reference(index, codes, geoms, x, y)
    assert 0 < res.n_exact < 500


def test_near_degenerate_orientations_are_exact() -> None:
    """Points within an ulp of edges near (0, 0), where a plain float determinant gets the
    side wrong for a few of them (the coordinate differences are not exact there): the error
    filter must send those to the exact path.

    (Far from 0, e.g. in Shanghai, the differences are exact and the plain determinant can
    only err towards 0, which is flagged anyway.)
    """
    from fractions import Fraction

    rng = np.random.default_rng(0)
    naive_wrong = 0
    for _ in range(8):
        (x1, y1), (x2, y2) = sorted(rng.uniform(-1, 1, (2, 2)).tolist(), key=lambda p: p[1])
        nx, ny = (y2 - y1) / 4, (x1 - x2) / 4
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        geoms: list[Polygon | MultiPolygon] = [
            Polygon([(x1, y1), (x2, y2), (cx + nx, cy + ny)]),
            Polygon([(x1, y1), (cx - nx, cy - ny), (x2, y2)]),
        ]
        xs, ys = [], []
        for t in rng.uniform(0.2, 0.8, 8):
            mx, my = x1 + t * (x2 - x1), y1 + t * (y2 - y1)
            u = np.spacing(max(abs(mx), abs(my)))
            i, j = np.meshgrid(np.arange(-8, 8), np.arange(-8, 8))
            x, y = (mx + i * u).ravel(), (my + j * u).ravel()
            det = (x1 - x) * (y2 - y) - (y1 - y) * (x2 - x)  # the kernel's formula, unfiltered
            f1, f2 = (Fraction(x1), Fraction(y1)), (Fraction(x2), Fraction(y2))
            for k in range(x.size):
                fx, fy = Fraction(x[k]), Fraction(y[k])
                exact = (f1[0] - fx) * (f2[1] - fy) - (f1[1] - fy) * (f2[0] - fx)
                naive_wrong += exact != 0 and det[k] != 0 and (exact > 0) != (det[k] > 0)
            xs.append(x)
            ys.append(y)
        codes = ["left", "right"]
        index = AreaIndex.build(codes, geoms)
        assert_matches_reference(index, codes, geoms, np.concatenate(xs), np.concatenate(ys))
    assert naive_wrong > 10  # the cases are adversarial for a plain float determinant


# --------------------------------------------------------------------------- API basics


def test_build_sorts_by_code_and_exposes_metadata() -> None:
    codes = ["m2", "m10", "m1"]
    geoms = [sq(0, 0), sq(1, 0), sq(2, 0)]
    index = AreaIndex.build(codes, geoms, names=["two", "ten", "one"])
    assert index.codes == ("m1", "m10", "m2")
    assert index.names == ("one", "ten", "two")
    assert index.input_order.tolist() == [2, 1, 0]
    assert len(index) == 3
    assert index.bounds == (X0, Y0, X0 + 3 * U, Y0 + U)
    assert index.geometries[0].equals(geoms[2])
    assert AreaIndex.build(codes, geoms).names == ("", "", "")
    res = index.lookup(lon=[X0 + 0.5 * U, X0 + 1.5 * U, X0 + 2.5 * U], lat=[Y0 + 0.5 * U] * 3)
    assert [index.codes[o] for o in res.owner] == ["m2", "m10", "m1"]
    assert res.owner.dtype == np.int32 and res.indices.dtype == np.int32
    assert res.indptr.dtype == np.int64 and res.n_covering.tolist() == [1, 1, 1]


def test_empty_lookup() -> None:
    index = AreaIndex.build(["a"], [sq(0, 0)])
    res = index.lookup(lon=np.empty(0), lat=np.empty(0))
    assert len(res) == 0 and res.indptr.tolist() == [0] and res.indices.size == 0
    idx, dist = index.nearest(lon=np.empty(0), lat=np.empty(0))
    assert idx.size == 0 and dist.size == 0


@pytest.mark.parametrize(
    ("codes", "geoms", "field"),
    [
        ([], [], "codes"),
        (["a", "a"], [sq(0, 0), sq(1, 0)], "codes"),
        (["a", "b"], [sq(0, 0)], "geoms"),
        (["a"], [shapely.Point(X0, Y0)], "geoms[0]"),
        (["a"], [Polygon()], "geoms[0]"),
        (["a"], [Polygon([P(0, 0), P(1, 1), P(1, 0), P(0, 1)])], "geoms[0]"),  # bow-tie
        (["a"], [Polygon([P(0, 0), P(1, 0), P(2, 0), P(0, 0)])], "geoms[0]"),  # zero area
    ],
    ids=["empty", "duplicate", "lengths", "point", "empty-geom", "bowtie", "zero-area"],
)
def test_build_rejects(codes: list[str], geoms: list[shapely.Geometry], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        AreaIndex.build(codes, geoms)
    assert err.value.field == field


def test_build_rejects_mismatched_names() -> None:
    with pytest.raises(InvalidInput) as err:
        AreaIndex.build(["a"], [sq(0, 0)], names=["x", "y"])
    assert err.value.field == "names"


def test_lookup_rejects_bad_shapes() -> None:
    index = AreaIndex.build(["a"], [sq(0, 0)])
    with pytest.raises(InvalidInput):
        index.lookup(lon=np.zeros(3), lat=np.zeros(2))
    with pytest.raises(InvalidInput):
        index.lookup(lon=np.zeros((2, 2)), lat=np.zeros((2, 2)))


# ------------------------------------------------------------------------ property tests


@st.composite
def tilings(draw: st.DrawFn) -> tuple[list[str], list[Polygon | MultiPolygon]]:
    """A rectangle cut by random lines, with holes, islands, a multipolygon and an overlap."""
    # mostly Shanghai; also straddling (0, 0), where coordinate differences are inexact
    ox, oy = draw(st.sampled_from([(X0, Y0), (X0, Y0), (-(2.0**-9), -(2.0**-10)), (179.5, -80.0)]))
    scale = 2.0 ** -draw(st.integers(8, 30))  # cell unit: ~400 m down to ~0.1 mm
    nx, ny = draw(st.integers(4, 64)), draw(st.integers(4, 64))
    rect = box(ox, oy, ox + nx * scale, oy + ny * scale)

    def border_point() -> tuple[float, float]:
        side = draw(st.integers(0, 3))
        t = draw(st.integers(0, 64)) / 64
        if side == 0:
            return ox + t * nx * scale, oy
        if side == 1:
            return ox + t * nx * scale, oy + ny * scale
        if side == 2:
            return ox, oy + t * ny * scale
        return ox + nx * scale, oy + t * ny * scale

    lines = []
    for _ in range(draw(st.integers(0, 5))):
        a, b = border_point(), border_point()
        if a != b:
            lines.append(shapely.LineString([a, b]))
    noded = shapely.union_all([rect.boundary, *lines])
    faces: list[Polygon | MultiPolygon] = [
        f for f in shapely.get_parts(shapely.polygonize([noded])) if f.area > 0 and f.is_valid
    ]
    # holes (and sometimes an island filling the hole)
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(faces) - 1))
        c = faces[i].representative_point()
        r = scale * 2.0 ** -draw(st.integers(0, 4))
        hole = box(c.x - r, c.y - r, c.x + r, c.y + r)
        cut = faces[i].difference(hole)
        if isinstance(cut, Polygon | MultiPolygon) and cut.is_valid and not cut.is_empty:
            faces[i] = cut
            if draw(st.booleans()):
                faces.append(hole.intersection(rect))
    # a multipolygon out of two faces
    if len(faces) >= 3 and draw(st.booleans()):
        i, j = draw(st.integers(0, len(faces) - 1)), draw(st.integers(0, len(faces) - 1))
        if i != j:
            merged = shapely.union(faces[i], faces[j])
            if isinstance(merged, Polygon | MultiPolygon) and merged.is_valid:
                faces = [f for k, f in enumerate(faces) if k not in (i, j)] + [merged]
    # an overlapping area
    if draw(st.booleans()):
        i0, j0 = draw(st.integers(0, nx - 1)), draw(st.integers(0, ny - 1))
        di, dj = draw(st.integers(1, nx)), draw(st.integers(1, ny))
        faces.append(
            box(ox + i0 * scale, oy + j0 * scale, ox + (i0 + di) * scale, oy + (j0 + dj) * scale)
        )
    codes = draw(
        st.lists(
            st.text("abc0", min_size=1, max_size=3),
            min_size=len(faces),
            max_size=len(faces),
            unique=True,
        )
    )
    return codes, faces


def probe_points(
    geoms: Sequence[Polygon | MultiPolygon], rng: np.random.Generator, n_random: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Vertices, on-edge and near-edge points, hole centres, nearby and random points."""
    rings = shapely.get_rings(shapely.get_parts(np.array(geoms, dtype=object)))
    xy_parts = []
    holes = []
    for ring in rings:
        c = shapely.get_coordinates(ring)
        a, b = c[:-1], c[1:]
        t = rng.uniform(0, 1, (len(a), 1))
        xy_parts += [c, a + t * (b - a), (a + b) / 2]
        axis = (a[:, 0] == b[:, 0]) | (a[:, 1] == b[:, 1])
        xy_parts.append(((a + b) / 2)[axis])
        holes.append(shapely.get_coordinates(shapely.Polygon(ring).representative_point()))
    verts = np.concatenate(xy_parts[::4])
    xy_parts.append(verts + rng.choice([-1e-12, 0, 1e-12], verts.shape))
    xy_parts.append(verts * (1 + rng.choice([-1, 1], verts.shape) * 2.0**-52))
    xy_parts += holes
    x0, y0, x1, y1 = shapely.total_bounds(np.array(geoms, dtype=object))
    dx, dy = (x1 - x0) * 0.05, (y1 - y0) * 0.05
    xy_parts.append(
        np.column_stack(
            [rng.uniform(x0 - dx, x1 + dx, n_random), rng.uniform(y0 - dy, y1 + dy, n_random)]
        )
    )
    xy = np.concatenate(xy_parts)
    return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiling=tilings(), seed=st.integers(0, 2**32 - 1))
def test_random_tilings_match_shapely(
    tiling: tuple[list[str], list[Polygon | MultiPolygon]], seed: int
) -> None:
    codes, geoms = tiling
    index = AreaIndex.build(codes, geoms)
    x, y = probe_points(geoms, np.random.default_rng(seed))
    assert_matches_reference(index, codes, geoms, x, y)


@st.composite
def blobs(draw: st.DrawFn) -> tuple[list[str], list[Polygon | MultiPolygon]]:
    """Free-form overlapping polygons: buffered random points and convex hulls, some holed."""
    n = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    geoms: list[Polygon | MultiPolygon] = []
    for _ in range(n):
        pts = rng.uniform(0, 1, (draw(st.integers(3, 12)), 2)) * 0.01 + [X0, Y0]
        g = shapely.convex_hull(shapely.multipoints(pts))
        if draw(st.booleans()):
            g = shapely.buffer(
                g, 0.001 * draw(st.integers(1, 3)), quad_segs=draw(st.integers(1, 8))
            )
        if draw(st.booleans()):
            g = g.difference(shapely.buffer(g.centroid, 0.0005))
        g = polygonal(g)
        if g.area > 0:
            geoms.append(g)
    if not geoms:
        geoms = [sq(0, 0)]
    return [f"z{i:02d}" for i in range(len(geoms))][::-1], geoms


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=blobs(), seed=st.integers(0, 2**32 - 1))
def test_random_overlapping_shapes_match_shapely(
    shapes: tuple[list[str], list[Polygon | MultiPolygon]], seed: int
) -> None:
    codes, geoms = shapes
    index = AreaIndex.build(codes, geoms)
    x, y = probe_points(geoms, np.random.default_rng(seed))
    assert_matches_reference(index, codes, geoms, x, y)


# ------------------------------------------------------------------------ real Shanghai data


def _needs(path: Path) -> None:
    assert path.exists(), f"reference data {path} is missing"


@pytest.fixture(scope="module")
def townships() -> tuple[list[str], list[Polygon | MultiPolygon], AreaIndex]:
    _needs(TOWNSHIPS)
    df = gpd.read_file(TOWNSHIPS)
    codes = [str(c) for c in df["id"]]
    geoms = [polygonal(g) for g in df.geometry]
    return codes, geoms, AreaIndex.build(codes, geoms, names=list(df["name"].fillna("")))


def covering_reference(
    geoms: Sequence[Polygon | MultiPolygon], x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(point, area) pairs with ``shapely.covers(area, point)``: STRtree candidates + covers."""
    garr = np.array(geoms, dtype=object)
    pts = shapely.points(x, y)
    cand = shapely.STRtree(garr).query(pts, predicate="intersects")
    ok = shapely.covers(garr[cand[1]], pts[cand[0]])
    return cand[0][ok], cand[1][ok]


def assert_matches_pairs(
    index: AreaIndex, codes: Sequence[str], pt: np.ndarray, area: np.ndarray, res: Lookup
) -> None:
    n = len(res)
    want: list[list[str]] = [[] for _ in range(n)]
    for p, a in zip(pt.tolist(), area.tolist(), strict=True):
        want[p].append(codes[a])
    owners, covering = engine_codes(index, res)
    bad = [i for i in range(n) if covering[i] != sorted(want[i])]
    assert not bad, [(i, covering[i], sorted(want[i])) for i in bad[:10]]
    assert owners == [min(w) if w else None for w in want]


@pytest.mark.reference_data
@pytest.mark.slow
def test_townships_all_case_addresses(
    townships: tuple[list[str], list[Polygon | MultiPolygon], AreaIndex],
) -> None:
    _needs(ADDRESSES)
    codes, geoms, index = townships
    pts = gpd.read_file(ADDRESSES).geometry
    assert len(pts) == 26105
    x, y = np.asarray(pts.x), np.asarray(pts.y)
    res = index.lookup(lon=x, lat=y)
    assert_matches_pairs(index, codes, *covering_reference(geoms, x, y), res)
    assert (res.owner >= 0).mean() > 0.99


@pytest.mark.reference_data
@pytest.mark.slow
def test_townships_random_and_boundary_points(
    townships: tuple[list[str], list[Polygon | MultiPolygon], AreaIndex],
) -> None:
    codes, geoms, index = townships
    rng = np.random.default_rng(2022)
    x, y = probe_points(geoms, rng, n_random=100_000)
    res = index.lookup(lon=x, lat=y)
    assert_matches_pairs(index, codes, *covering_reference(geoms, x, y), res)
    assert res.n_exact > 0  # vertices and exact midpoints went through GEOS
    # random points are answered by the fast path alone
    b = index.bounds
    xr, yr = rng.uniform(b[0], b[2], 100_000), rng.uniform(b[1], b[3], 100_000)
    assert index.lookup(lon=xr, lat=yr).n_exact == 0


@pytest.mark.reference_data
@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    area=st.integers(0, 251),
    t=st.floats(0, 1),
    k=st.integers(0, 10**6),
    nudge=st.sampled_from([0.0, 1e-12, -1e-12, 1e-9, -1e-9]),
)
def test_townships_property(
    townships: tuple[list[str], list[Polygon | MultiPolygon], AreaIndex],
    area: int,
    t: float,
    k: int,
    nudge: float,
) -> None:
    """Points on, next to and between the vertices of a township's rings."""
    codes, geoms, index = townships
    c = shapely.get_coordinates(geoms[area])
    i = k % (len(c) - 1)
    a, b = c[i], c[i + 1]
    xs = np.array([a[0], a[0] + nudge, a[0] + t * (b[0] - a[0]), (a[0] + b[0]) / 2, a[0]])
    ys = np.array([a[1], a[1], a[1] + t * (b[1] - a[1]) + nudge, (a[1] + b[1]) / 2, a[1] - nudge])
    assert_matches_reference(index, codes, geoms, xs, ys)


# ------------------------------------------------------------------------ the demo street

DEMO_MICRO_GRIDS = (
    Path(__file__).resolve().parents[2] / "data" / "boundaries" / "micro_grids.geojson"
)


@pytest.fixture(scope="module")
def demo_street() -> tuple[list[str], list[Polygon | MultiPolygon], AreaIndex]:
    df = gpd.read_file(DEMO_MICRO_GRIDS)
    codes = [str(c) for c in df["code"]]
    geoms = list(df.geometry)
    assert len(codes) > 250
    return codes, geoms, AreaIndex.build(codes, geoms, names=list(df["name"]))


def test_demo_street_random_and_boundary_points(
    demo_street: tuple[list[str], list[Polygon | MultiPolygon], AreaIndex],
) -> None:
    """Random points, every vertex (shared by 2-4 micro-grids), edge midpoints, the planted
    overlap and gap: engine == shapely covers with the smallest-code tie-break."""
    codes, geoms, index = demo_street
    rng = np.random.default_rng(7)
    x, y = probe_points(geoms, rng, n_random=50_000)
    res = index.lookup(lon=x, lat=y)
    assert_matches_pairs(index, codes, *covering_reference(geoms, x, y), res)
    assert (res.n_covering > 1).any()  # shared edges and the planted overlap


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    area=st.integers(0, 10**6),
    t=st.floats(0, 1),
    k=st.integers(0, 10**6),
    nudge=st.sampled_from([0.0, 1e-12, -1e-12, 1e-9, -1e-9, 2.0**-30]),
)
def test_demo_street_property(
    demo_street: tuple[list[str], list[Polygon | MultiPolygon], AreaIndex],
    area: int,
    t: float,
    k: int,
    nudge: float,
) -> None:
    """Points on, next to and between the vertices of a micro-grid's rings."""
    codes, geoms, index = demo_street
    c = shapely.get_coordinates(geoms[area % len(geoms)])
    i = k % (len(c) - 1)
    a, b = c[i], c[i + 1]
    xs = np.array([a[0], a[0] + nudge, a[0] + t * (b[0] - a[0]), (a[0] + b[0]) / 2, a[0]])
    ys = np.array([a[1], a[1], a[1] + t * (b[1] - a[1]) + nudge, (a[1] + b[1]) / 2, a[1] - nudge])
    assert_matches_reference(index, codes, geoms, xs, ys)


# --------------------------------------------------------------------------------- nearest


def _metric(index: AreaIndex) -> Transformer:
    b = index.bounds
    crs = local_metric_crs(lon=(b[0] + b[2]) / 2, lat=(b[1] + b[3]) / 2)
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def brute_nearest(
    codes: Sequence[str], geoms: Sequence[Polygon | MultiPolygon], crs_of: AreaIndex, x, y
) -> tuple[list[str | None], np.ndarray]:
    """Nearest area code (ties: smallest code) and distance in metres, by brute force."""
    b = crs_of.bounds
    crs = local_metric_crs(lon=(b[0] + b[2]) / 2, lat=(b[1] + b[3]) / 2)
    polys = gpd.GeoSeries(list(geoms), crs=4326).to_crs(crs)
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=4326).to_crs(crs)
    names: list[str | None] = []
    dists = np.empty(len(x))
    for i, p in enumerate(pts):
        d = shapely.distance(np.asarray(polys), p)
        m = d.min()
        names.append(min(c for c, di in zip(codes, d, strict=True) if di == m))
        dists[i] = m
    return names, dists


def test_nearest_small() -> None:
    codes, geoms = ["b", "a", "c"], [sq(0, 0), sq(1, 0), sq(0, 3)]
    index = AreaIndex.build(codes, geoms)
    x = np.array([X0 + U, X0 + 0.5 * U, X0 + 0.5 * U, X0 - 3 * U, math.nan])
    y = np.array([Y0 - 0.5 * U, Y0 + 0.5 * U, Y0 + 2.75 * U, Y0 + 3.5 * U, Y0])
    idx, dist = index.nearest(lon=x, lat=y)
    got = [index.codes[i] if i >= 0 else None for i in idx]
    names, ref = brute_nearest(codes, geoms, index, x[:4], y[:4])
    # point 0 is nearest to the vertex shared by "b" and "a": a tie, so "a"; point 1 is in "b"
    assert got == ["a", "b", "c", "c", None]
    assert names == ["a", "b", "c", "c"]
    assert dist[1] == 0.0 and math.isnan(dist[4])
    np.testing.assert_allclose(dist[:4], ref, rtol=1e-9)
    assert 50 < dist[0] < 60  # half of U (~108.6 m of latitude)
    assert 25 < dist[2] < 30
    # max_distance_m: only the covered point and the one ~27 m away survive a 30 m limit
    idx2, dist2 = index.nearest(lon=x, lat=y, max_distance_m=30.0)
    assert idx2.tolist() == [-1, 1, 2, -1, -1]
    assert dist2[2] == pytest.approx(ref[2], rel=1e-9)
    assert np.isnan(dist2[[0, 3, 4]]).all()
    idx3, _ = index.nearest(lon=x, lat=y, max_distance_m=0)
    assert idx3.tolist() == [-1, 1, -1, -1, -1]
    for bad in (-1.0, math.nan):
        with pytest.raises(InvalidInput):
            index.nearest(lon=x, lat=y, max_distance_m=bad)


@pytest.mark.reference_data
@pytest.mark.slow
def test_nearest_townships(
    townships: tuple[list[str], list[Polygon | MultiPolygon], AreaIndex],
) -> None:
    codes, geoms, index = townships
    rng = np.random.default_rng(5)
    b = index.bounds
    x = rng.uniform(b[0] - 0.1, b[2] + 0.1, 3000)
    y = rng.uniform(b[1] - 0.1, b[3] + 0.1, 3000)
    uncovered = index.lookup(lon=x, lat=y).owner < 0
    x, y = x[uncovered][:60], y[uncovered][:60]
    assert len(x) == 60
    idx, dist = index.nearest(lon=x, lat=y)
    names, ref = brute_nearest(codes, geoms, index, x, y)
    assert [index.codes[i] for i in idx] == names
    np.testing.assert_allclose(dist, ref, rtol=1e-9)
    limit = float(np.median(ref))
    idx2, dist2 = index.nearest(lon=x, lat=y, max_distance_m=limit)
    within = ref <= limit
    assert ((idx2 >= 0) == within).all()
    np.testing.assert_allclose(dist2[within], ref[within], rtol=1e-9)
    assert np.isnan(dist2[~within]).all()


# ---------------------------------------------------------------------------------- shares


def test_circle_shares_four_squares() -> None:
    codes, geoms = list(FOUR), list(FOUR.values())
    index = AreaIndex.build(codes, geoms)
    shares = index.circle_shares(lon=X0 + U, lat=Y0 + U, radius_m=30.0)
    assert sorted(index.codes[a] for a, _ in shares) == ["a", "b", "c", "d"]
    assert sum(s for _, s in shares) == pytest.approx(1.0, abs=1e-9)
    for _, s in shares:
        assert s == pytest.approx(0.25, abs=1e-3)
    assert shares == sorted(shares, key=lambda p: (-p[1], p[0]))
    # off-centre circle against a direct shapely computation
    lon, lat, r = X0 + 0.8 * U, Y0 + 1.1 * U, 40.0
    got = dict(index.circle_shares(lon=lon, lat=lat, radius_m=r))
    tr = _metric(index)
    cx, cy = tr.transform(lon, lat)
    circle = shapely.Point(cx, cy).buffer(r, quad_segs=256)
    polys = gpd.GeoSeries(geoms, crs=4326).to_crs(tr.target_crs)
    want = {
        index.codes.index(c): circle.intersection(p).area / circle.area
        for c, p in zip(codes, polys, strict=True)
        if circle.intersection(p).area > 0
    }
    assert set(got) == set(want)
    for a, s in want.items():
        assert got[a] == pytest.approx(s, abs=1e-4)
    # a circle outside everything, and bad radii
    assert index.circle_shares(lon=X0 - 1, lat=Y0, radius_m=10) == []
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(InvalidInput):
            index.circle_shares(lon=X0, lat=Y0, radius_m=bad)
    with pytest.raises(InvalidInput):
        index.circle_shares(lon=math.nan, lat=Y0, radius_m=1)


def _reference_shares(
    index: AreaIndex, geoms: Sequence[Polygon | MultiPolygon], blds: Sequence[Polygon]
) -> list[dict[int, float]]:
    crs = _metric(index).target_crs
    polys = np.asarray(gpd.GeoSeries(list(geoms), crs=4326).to_crs(crs))
    out = []
    for b in gpd.GeoSeries(list(blds), crs=4326).to_crs(crs):
        inter = shapely.area(shapely.intersection(polys, b))
        out.append({int(i): inter[i] / b.area for i in np.flatnonzero(inter > 0)})
    return out


def test_polygon_shares_small() -> None:
    codes, geoms = list(FOUR), list(FOUR.values())
    index = AreaIndex.build(codes, geoms)
    blds = [
        sq(0.25, 0.25, 0.5, 0.5),  # inside "d"
        sq(0.5, 0.75, 1.0, 0.5),  # straddles all four: d, c, b, a
        sq(0.9, 0.1, 0.6, 0.2),  # mostly "c"
        sq(5, 5),  # outside
        Polygon(),  # empty
    ]
    got = index.polygon_shares(blds)
    assert [[index.codes[a] for a, _ in g] for g in got[:1]] == [["d"]]
    assert got[0][0][1] == pytest.approx(1.0)
    assert got[3] == [] and got[4] == []
    want = _reference_shares(index, [index.geometries[i] for i in range(4)], blds[:3])
    for g, w in zip(got, want, strict=False):
        assert {a for a, _ in g} == set(w)
        for a, s in g:
            assert s == pytest.approx(w[a], rel=1e-9)
        assert g == sorted(g, key=lambda p: (-p[1], p[0]))
    assert index.codes[got[2][0][0]] == "c"


@pytest.mark.reference_data
@pytest.mark.slow
def test_polygon_shares_real_buildings(
    townships: tuple[list[str], list[Polygon | MultiPolygon], AreaIndex],
) -> None:
    _needs(BUILDINGS)
    _, _, index = townships
    blds = [polygonal(g) for g in gpd.read_file(BUILDINGS).geometry[:300]]
    got = index.polygon_shares(blds)
    want = _reference_shares(index, list(index.geometries), blds)
    for g, w in zip(got, want, strict=True):
        assert {a for a, _ in g} == set(w)
        for a, s in g:
            assert s == pytest.approx(w[a], rel=1e-9, abs=1e-12)
        assert g == sorted(g, key=lambda p: (-p[1], p[0]))
        assert sum(s for _, s in g) <= 1 + 1e-9
    assert sum(bool(g) for g in got) > 250
