"""Seeded polygon layers for the scale benchmark (and its tests): city-size tilings and hostile
shapes. Every function returns ``(codes, geoms)`` of valid WGS-84 polygons; the same seed
gives the same layer on every machine (numpy's PCG64 + GEOS).

* :func:`voronoi_tiling` — ``n`` Voronoi cells over the Shanghai area, edges segmentized so
  the layer has up to ``vertices`` vertices (asked 360k and 1.04M, the segmentizing step
  lands at 303k and 780k: edges shorter than the step get no extra vertex).
* :func:`strips` — thousands of long thin north-south strips side by side.
* :func:`far_exclave` — a dense tiling plus one area with a far exclave stretching the bbox.
* :func:`one_big_polygon` — one wavy ring with ``vertices`` vertices (1M).
* :func:`tiny_in_one_cell` — a coarse tiling plus thousands of tiny polygons in one spot.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely import MultiPolygon, Polygon

SHANGHAI = (120.86, 30.69, 121.98, 31.87)  # lon/lat bbox of the municipality
CENTRE = (121.47, 31.23)

Layer = tuple[list[str], list[Polygon | MultiPolygon]]


def _codes(prefix: str, n: int) -> list[str]:
    width = len(str(n))
    return [f"{prefix}{i:0{width}d}" for i in range(n)]


def voronoi_tiling(n: int, vertices: int, seed: int = 1, bbox: tuple = SHANGHAI) -> Layer:
    """``n`` Voronoi cells of seeded uniform points over ``bbox``, about ``vertices`` vertices."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bbox
    pts = shapely.multipoints(np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)]))
    frame = shapely.box(x0, y0, x1, y1)
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=frame))
    cells = shapely.intersection(cells, frame)
    cells = cells[~shapely.is_empty(cells)]
    have = int(shapely.get_num_coordinates(cells).sum())
    if vertices > have:
        # perimeter per cell ~ 4 * sqrt(area); spread the extra vertices evenly over it
        perimeter = float(shapely.length(cells).sum())
        step = perimeter / max(vertices - have, 1)
        cells = shapely.segmentize(cells, step)
    geoms = [g for g in cells.tolist() if isinstance(g, Polygon) and g.is_valid and g.area > 0]
    return _codes("v", len(geoms)), geoms


def strips(n: int = 3000, seed: int = 2, points_per_side: int = 200) -> Layer:
    """``n`` strips 0.0004° wide (~40 m) and 0.6° tall (~66 km) side by side, their long sides
    wiggling slightly (shared between neighbours, so they still tile)."""
    rng = np.random.default_rng(seed)
    x0, y0 = 121.0, 30.9
    w, h = 0.0004, 0.6
    ys = np.linspace(y0, y0 + h, points_per_side)
    # every dividing line wiggles by up to a quarter of a strip width
    lines = [x0 + i * w + rng.uniform(-w / 4, w / 4, points_per_side) for i in range(n + 1)]
    lines[0][:] = x0
    lines[-1][:] = x0 + n * w
    geoms: list[Polygon | MultiPolygon] = []
    for i in range(n):
        left = np.column_stack([lines[i], ys])
        right = np.column_stack([lines[i + 1], ys])[::-1]
        geoms.append(Polygon(np.concatenate([left, right])))
    return _codes("s", n), geoms


def far_exclave(n: int = 5000, vertices: int = 100_000, seed: int = 3) -> Layer:
    """A dense Voronoi tiling of ~8 km² plus one area whose exclave lies ~1.5° away."""
    codes, geoms = voronoi_tiling(n, vertices, seed, bbox=(121.45, 31.21, 121.48, 31.24))
    home = geoms[0]
    exclave = shapely.box(123.0, 32.7, 123.01, 32.71)
    geoms[0] = MultiPolygon([home, exclave])
    return codes, geoms


def one_big_polygon(vertices: int = 1_000_000) -> Layer:
    """One ring of ``vertices`` vertices: a circle ~20 km across with 2,000 deep waves."""
    t = np.linspace(0.0, 2.0 * math.pi, vertices, endpoint=False)
    r = 0.1 * (1.0 + 0.3 * np.sin(2000.0 * t))
    ring = np.column_stack([CENTRE[0] + r * np.cos(t) / math.cos(math.radians(CENTRE[1])),
                            CENTRE[1] + r * np.sin(t)])  # fmt: skip
    return ["big"], [Polygon(ring)]


def tiny_in_one_cell(n: int = 5000, seed: int = 4) -> Layer:
    """A 500-cell tiling of Shanghai plus ``n`` tiny squares (~2 m) within ~200 m of a spot
    (they overlap the tiling: points there are covered twice)."""
    codes, geoms = voronoi_tiling(500, 20_000, seed)
    rng = np.random.default_rng(seed)
    side = 0.00002
    cx = CENTRE[0] + rng.uniform(-0.002, 0.002, n)
    cy = CENTRE[1] + rng.uniform(-0.002, 0.002, n)
    tiny = shapely.box(cx, cy, cx + side, cy + side)
    return codes + _codes("t", n), geoms + list(tiny)


def buildings(n: int, bbox: tuple = SHANGHAI, seed: int = 5) -> list[Polygon]:
    """``n`` rotated rectangles 10-40 m on a side (building footprints) over ``bbox``."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bbox
    cx, cy = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    a = rng.uniform(0.0001, 0.0004, n) / 2
    b = rng.uniform(0.0001, 0.0004, n) / 2
    th = rng.uniform(0, math.pi, n)
    c, s = np.cos(th), np.sin(th)
    k = 1.0 / math.cos(math.radians((y0 + y1) / 2))
    corners = [(-a, -b), (a, -b), (a, b), (-a, b)]
    xs = np.stack([cx + (u * c - v * s) * k for u, v in corners], axis=1)
    ys = np.stack([cy + (u * s + v * c) for u, v in corners], axis=1)
    rings = np.stack([xs, ys], axis=2)
    return list(shapely.polygons(rings))
