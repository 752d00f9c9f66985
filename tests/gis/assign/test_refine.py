"""gis.assign._refine: per-cell edge lists, reference points and sub-grids, against shapely.

The layers are built so that the first-level grid is far too coarse (a far exclave stretches
the bounding box, so the data lands in a few cells, or many tiny polygons share one cell):
those cells get sub-grids, and points in the deepest cells, on sub-cell borders, on edges and
vertices and ulps away from them must all be answered exactly as ``shapely.covers`` does.
"""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import MultiPolygon, Polygon

from gis.assign.engine import AreaIndex
from tests.gis.assign.test_engine import (
    X0,
    Y0,
    U,
    assert_matches_reference,
    probe_points,
    sq,
    tilings,
)


@st.composite
def crowded(draw: st.DrawFn) -> tuple[list[str], list[Polygon | MultiPolygon]]:
    """Many small (some overlapping) squares and a few triangles packed into a tiny spot, plus
    a far exclave that makes the spot a handful of first-level cells."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(30, 150))
    unit = U * 2.0 ** -draw(st.integers(4, 10))
    # dyadic corners: shared edges and vertices exactly representable
    i = rng.integers(0, 24, n)
    j = rng.integers(0, 24, n)
    size = rng.integers(1, 4, n)
    geoms: list[Polygon | MultiPolygon] = [
        shapely.box(X0 + a * unit, Y0 + b * unit, X0 + (a + s) * unit, Y0 + (b + s) * unit)
        for a, b, s in zip(i.tolist(), j.tolist(), size.tolist(), strict=True)
    ]
    for _ in range(draw(st.integers(0, 5))):
        p = rng.uniform(0, 24, (3, 2)) * unit + [X0, Y0]
        tri = Polygon(p)
        if tri.is_valid and tri.area > 0:
            geoms.append(tri)
    far = sq(draw(st.integers(200, 3000)), draw(st.integers(200, 3000)))
    geoms[0] = MultiPolygon([geoms[0], far])
    codes = [f"c{k:03d}" for k in rng.permutation(len(geoms)).tolist()]
    return codes, geoms


def sub_cell_border_points(index: AreaIndex, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Points exactly on the sub-grid lines of refined cells (and ulps off them)."""
    g = index._grid
    cells, sides = g.refined_cells
    xs, ys = [], []
    for b in range(min(20, cells.shape[0])):
        row, col = divmod(int(cells[b]), g.ncols)
        w, h = g.G[2], g.G[3]
        k = int(sides[b])
        x0, y0 = g.gx0 + col * w, g.gy0 + row * h
        t = rng.integers(0, k + 1, 30)
        u = rng.uniform(0, 1, 30)
        xs += [x0 + t * (w / k), x0 + u * w]
        ys += [y0 + u * h, y0 + t * (h / k)]
    if not xs:
        return np.empty(0), np.empty(0)
    x, y = np.concatenate(xs), np.concatenate(ys)
    x = np.concatenate([x, np.nextafter(x, np.inf), np.nextafter(x, -np.inf)])
    y = np.concatenate([y, y, y])
    return x, y


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=crowded(), seed=st.integers(0, 2**32 - 1))
def test_refined_cells_match_shapely(
    layer: tuple[list[str], list[Polygon | MultiPolygon]], seed: int
) -> None:
    codes, geoms = layer
    index = AreaIndex.build(codes, geoms)
    assert index._grid.n_refined > 0  # the crowded spot really is refined
    rng = np.random.default_rng(seed)
    x, y = probe_points(geoms, rng, n_random=50)
    # random points in the crowded spot itself (not just the whole, mostly empty, bbox)
    b = shapely.total_bounds(np.array(geoms[1:], dtype=object))
    sx = rng.uniform(b[0], b[2], 300)
    sy = rng.uniform(b[1], b[3], 300)
    bx, by = sub_cell_border_points(index, rng)
    x = np.concatenate([x, sx, bx])
    y = np.concatenate([y, sy, by])
    assert_matches_reference(index, codes, geoms, x, y)


def test_long_thin_strips_match_shapely() -> None:
    # 300 north-south strips 2**-14 deg wide, 64x as tall, wiggling long sides (shared)
    rng = np.random.default_rng(11)
    n, w, hgt, k = 300, 2.0**-14, 2.0**-8, 40
    ys = Y0 + np.linspace(0, hgt, k)
    lines = [X0 + i * w + rng.uniform(-w / 4, w / 4, k) for i in range(n + 1)]
    lines[0][:], lines[-1][:] = X0, X0 + n * w
    geoms: list[Polygon | MultiPolygon] = [
        Polygon(
            np.concatenate(
                [np.column_stack([lines[i], ys]), np.column_stack([lines[i + 1], ys])[::-1]]
            )
        )
        for i in range(n)
    ]
    codes = [f"s{i:03d}" for i in range(n)]
    index = AreaIndex.build(codes, geoms)
    x, y = probe_points(geoms, rng, n_random=2000)
    pick = rng.choice(len(x), size=min(len(x), 3000), replace=False)
    assert_matches_reference(index, codes, geoms, x[pick], y[pick])


def test_one_wavy_polygon_with_many_vertices_matches_shapely() -> None:
    # 60,000 vertices on a ring with 600 deep waves: thousands of edges per first-level cell
    t = np.linspace(0.0, 2.0 * np.pi, 60_000, endpoint=False)
    r = 0.01 * (1.0 + 0.3 * np.sin(600.0 * t))
    ring = Polygon(np.column_stack([X0 + r * np.cos(t), Y0 + r * np.sin(t)]))
    far = sq(3000, 3000)  # and a far area, so the wavy ring sits in few first-level cells
    codes, geoms = ["ring", "zfar"], [ring, far]
    index = AreaIndex.build(codes, geoms)
    assert index._grid.n_refined > 0
    rng = np.random.default_rng(12)
    x, y = probe_points([ring], rng, n_random=2000)
    pick = rng.choice(len(x), size=4000, replace=False)
    assert_matches_reference(index, codes, geoms, x[pick], y[pick])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiling=tilings(), seed=st.integers(0, 2**32 - 1))
def test_points_on_first_level_cell_borders_match_shapely(
    tiling: tuple[list[str], list[Polygon | MultiPolygon]], seed: int
) -> None:
    # a point exactly on a grid line (or an ulp either side) is looked up in one of the two
    # cells it touches: the answer must not depend on which
    codes, geoms = tiling
    index = AreaIndex.build(codes, geoms)
    g = index._grid
    rng = np.random.default_rng(seed)
    w, h = g.G[2], g.G[3]
    cols = rng.integers(0, g.ncols + 1, 150)
    rows = rng.integers(0, g.nrows + 1, 150)
    u = rng.uniform(0.0, 1.0, 150)
    x = np.concatenate([g.gx0 + cols * w, g.gx0 + u * (g.gx1 - g.gx0), g.gx0 + cols * w])
    y = np.concatenate([g.gy0 + u * (g.gy1 - g.gy0), g.gy0 + rows * h, g.gy0 + rows * h])
    x = np.concatenate([x, np.nextafter(x, np.inf), np.nextafter(x, -np.inf), x, x])
    y = np.concatenate([y, y, y, np.nextafter(y, np.inf), np.nextafter(y, -np.inf)])
    assert_matches_reference(index, codes, geoms, x, y)
