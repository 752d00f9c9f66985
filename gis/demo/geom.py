"""Planar geometry helpers for the demo generator (local metres, shapely 2).

All constructions here are deterministic: no set iteration, ties broken by index.
``GRID`` is the precision (1 mm) the final boundaries are snapped to, so that neighbouring
polygons share identical vertices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final, cast

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, box
from shapely.ops import split

#: Precision of the final boundaries in metres.
GRID: Final = 1e-3

Areal = Polygon | MultiPolygon


def as_areal(geom: Any) -> Areal:
    """``geom`` as a Polygon or MultiPolygon (dropping lines/points of a collection)."""
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    polys: list[Polygon] = []
    for part in getattr(geom, "geoms", []):
        if isinstance(part, Polygon) and not part.is_empty:
            polys.append(part)
        elif isinstance(part, MultiPolygon):
            polys.extend(cast(list[Polygon], list(part.geoms)))
    if len(polys) == 1:
        return polys[0]
    return MultiPolygon(polys)


def polygons_of(geom: Any) -> list[Polygon]:
    """The polygon parts of ``geom`` (a Polygon, MultiPolygon or collection)."""
    g = as_areal(geom)
    if isinstance(g, Polygon):
        return [] if g.is_empty else [g]
    return [p for p in cast(list[Polygon], list(g.geoms)) if not p.is_empty]


def union(geoms: Sequence[Any], *, grid: float | None = GRID) -> Areal:
    """Union of polygons, snapped to ``grid`` (1 mm) unless ``grid`` is None."""
    return as_areal(shapely.union_all(list(geoms), grid_size=grid))


def orientation(geom: Areal) -> float:
    """Dominant edge direction of ``geom`` in radians, folded into (-pi/4, pi/4].

    The length-weighted circular mean of 4·angle over all exterior edges, so a block bounded
    by roads at 7° and 97° yields 7°.
    """
    sx = sy = 0.0
    for poly in polygons_of(geom):
        xy = np.asarray(poly.exterior.coords)
        d = np.diff(xy, axis=0)
        length = np.hypot(d[:, 0], d[:, 1])
        ang = np.arctan2(d[:, 1], d[:, 0]) * 4.0
        sx += float(np.sum(length * np.cos(ang)))
        sy += float(np.sum(length * np.sin(ang)))
    return math.atan2(sy, sx) / 4.0


def rotate_xy(xy: np.ndarray, theta: float) -> np.ndarray:
    """Rotate an (N, 2) array of points by ``theta`` radians about the origin."""
    c, s = math.cos(theta), math.sin(theta)
    out = np.empty_like(xy, dtype=float)
    out[:, 0] = xy[:, 0] * c - xy[:, 1] * s
    out[:, 1] = xy[:, 0] * s + xy[:, 1] * c
    return out


def rotate(geom: Any, theta: float) -> Any:
    """``geom`` rotated by ``theta`` radians about the origin."""
    return shapely.transform(geom, lambda xy: rotate_xy(xy, theta))


def frame_polygon(coords: Sequence[tuple[float, float]], theta: float) -> Polygon:
    """A polygon given in a frame rotated by ``theta``, returned in world coordinates."""
    xy = rotate_xy(np.asarray(coords, dtype=float), theta)
    return Polygon(xy)


def frame_box(x0: float, y0: float, x1: float, y1: float, theta: float) -> Polygon:
    """An axis-aligned rectangle of the ``theta`` frame, in world coordinates."""
    return frame_polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], theta)


def cut(poly: Areal, theta: float, axis: int, frac: float) -> tuple[Areal, Areal]:
    """Split ``poly`` by one straight line of the ``theta`` frame into (low, high) parts.

    ``axis`` 0 cuts across frame-x (a line x = t), 1 across frame-y. The line position is
    chosen so that the low side holds ``frac`` of the area (to ~0.1 m²).
    """
    pf = rotate(poly, -theta)
    minx, miny, maxx, maxy = pf.bounds
    total = float(pf.area)
    lo, hi = (minx, maxx) if axis == 0 else (miny, maxy)
    a, b = lo, hi
    for _ in range(40):
        t = (a + b) / 2.0
        if axis == 0:
            part = shapely.clip_by_rect(pf, minx - 1, miny - 1, t, maxy + 1)
        else:
            part = shapely.clip_by_rect(pf, minx - 1, miny - 1, maxx + 1, t)
        if float(part.area) < frac * total:
            a = t
        else:
            b = t
        if b - a < 0.005:
            break
    t = round((a + b) / 2.0, 2)
    if axis == 0:
        line_f = LineString([(t, miny - 10.0), (t, maxy + 10.0)])
    else:
        line_f = LineString([(minx - 10.0, t), (maxx + 10.0, t)])
    pieces = polygons_of(split(poly, rotate(line_f, theta)))
    low: list[Polygon] = []
    high: list[Polygon] = []
    for piece in pieces:
        c = rotate(piece.representative_point(), -theta)
        (low if (c.x if axis == 0 else c.y) < t else high).append(piece)
    return _merge(low), _merge(high)


def _merge(parts: list[Polygon]) -> Areal:
    if len(parts) == 1:
        return parts[0]
    return union(parts, grid=None)


def frame_extent(poly: Areal, theta: float) -> tuple[float, float]:
    """Width and height of ``poly`` measured in the ``theta`` frame."""
    minx, miny, maxx, maxy = rotate(poly, -theta).bounds
    return float(maxx - minx), float(maxy - miny)


def partition(
    poly: Areal, n: int, theta: float, rng: np.random.Generator, *, jitter: float = 0.1
) -> list[Areal]:
    """Cut ``poly`` into ``n`` parts of similar area by recursive straight cuts (k-d style).

    Each cut runs across the longer frame extent; the area share is jittered by ±``jitter``.
    Parts come out in a spatially coherent order (low side first).
    """
    if n <= 1:
        return [poly]
    n1 = n // 2
    w, h = frame_extent(poly, theta)
    axis = 0 if w >= h else 1
    frac = n1 / n * (1.0 + float(rng.uniform(-jitter, jitter)))
    low, high = cut(poly, theta, axis, frac)
    if isinstance(low, MultiPolygon) or isinstance(high, MultiPolygon):
        low2, high2 = cut(poly, theta, 1 - axis, frac)
        if isinstance(low2, Polygon) and isinstance(high2, Polygon):
            low, high = low2, high2
    if axis == 1:  # the high side (north) first, so numbering reads north to south
        low, high = high, low
        n1 = n - n1
    return partition(low, n1, theta, rng, jitter=jitter) + partition(
        high, n - n1, theta, rng, jitter=jitter
    )


def build_coverage(leaves: Sequence[Areal]) -> list[Areal]:
    """Re-node a set of (nearly) tiling polygons so that neighbours share exact vertices.

    All boundaries are noded together on the 1 mm grid and polygonized; each face goes to
    the leaf holding its interior point. Returns the leaves rebuilt from their faces.
    """
    lines = [p.boundary for leaf in leaves for p in polygons_of(leaf)]
    noded = shapely.union_all(lines, grid_size=GRID)
    faces = polygons_of(shapely.polygonize(list(getattr(noded, "geoms", [noded]))))
    tree = shapely.STRtree(list(leaves))
    owned: list[list[Polygon]] = [[] for _ in leaves]
    for face in faces:
        pt = face.representative_point()
        hits = sorted(int(i) for i in tree.query(pt, predicate="within"))
        if not hits:
            cands = sorted(int(i) for i in tree.query(face))
            if not cands:
                continue
            hits = [max(cands, key=lambda i: (float(leaves[i].intersection(face).area), -i))]
        owned[hits[0]].append(face)
    out: list[Areal] = []
    for i, faces_i in enumerate(owned):
        if not faces_i:
            raise RuntimeError(f"leaf {i} lost all its faces while noding")
        out.append(faces_i[0] if len(faces_i) == 1 else union(faces_i))
    return out


def shared_edge(a: Areal, b: Areal) -> LineString | None:
    """The longest straight-ish stretch of boundary shared by ``a`` and ``b`` (or None)."""
    common = shapely.line_merge(shapely.intersection(a.boundary, b.boundary, grid_size=GRID))
    lines = [g for g in getattr(common, "geoms", [common]) if isinstance(g, LineString)]
    lines = [ln for ln in lines if not ln.is_empty]
    if not lines:
        return None
    return max(lines, key=lambda ln: (float(ln.length), ln.coords[0]))


def edge_box(
    edge: LineString, inside: Areal, s0: float, s1: float, t0: float, t1: float
) -> tuple[Polygon, tuple[float, float], tuple[float, float], tuple[float, float]]:
    """A rectangle in (along, across) coordinates of the straight ``edge``.

    ``s`` runs along the edge from its midpoint, ``t`` across it, positive into ``inside``.
    Returns the rectangle and the midpoint, unit direction and unit normal used.
    """
    (x0, y0), (x1, y1) = edge.coords[0], edge.coords[-1]
    length = math.hypot(x1 - x0, y1 - y0)
    d = ((x1 - x0) / length, (y1 - y0) / length)
    n = (-d[1], d[0])
    m = ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
    probe = shapely.Point(m[0] + 0.5 * n[0], m[1] + 0.5 * n[1])
    if not inside.contains(probe):
        n = (-n[0], -n[1])

    def at(s: float, t: float) -> tuple[float, float]:
        return (
            round(m[0] + s * d[0] + t * n[0], 3),
            round(m[1] + s * d[1] + t * n[1], 3),
        )

    rect = Polygon([at(s0, t0), at(s1, t0), at(s1, t1), at(s0, t1)])
    return rect, m, d, n


def rect_xy(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A plain axis-aligned rectangle (world coordinates)."""
    return cast(Polygon, box(x0, y0, x1, y1))
