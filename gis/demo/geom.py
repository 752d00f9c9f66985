"""Planar geometry helpers for the demo generator (local metres, shapely 2).

All constructions here are deterministic: no set iteration, ties broken by index.
``GRID`` is the precision (5 cm) the final boundaries are snap-rounded to, so that
neighbouring polygons share identical vertices and no two vertices are closer than the
~1 cm step of the 7-decimal lon/lat the files are written in.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, Final, TypeAlias

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.ops import split

#: Precision of the final boundaries in metres.
GRID: Final = 0.05

#: Faces of the coverage thinner than this on average (2·area/perimeter, m) are slivers.
SLIVER_WIDTH: Final = 0.5


def snap(v: float) -> float:
    """``v`` rounded to the GRID lattice."""
    return round(round(v / GRID) * GRID, 6)


#: A shapely Polygon or MultiPolygon (shapely ships no type hints, so this is ``Any``).
Areal: TypeAlias = Any


def as_areal(geom: Any) -> Areal:
    """``geom`` as a Polygon or MultiPolygon (dropping lines/points of a collection)."""
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    polys: list[Polygon] = []
    for part in getattr(geom, "geoms", []):
        if isinstance(part, Polygon) and not part.is_empty:
            polys.append(part)
        elif isinstance(part, MultiPolygon):
            polys.extend(part.geoms)
    if len(polys) == 1:
        return polys[0]
    return MultiPolygon(polys)


def polygons_of(geom: Any) -> list[Polygon]:
    """The polygon parts of ``geom`` (a Polygon, MultiPolygon or collection)."""
    g = as_areal(geom)
    if isinstance(g, Polygon):
        return [] if g.is_empty else [g]
    return [p for p in g.geoms if not p.is_empty]


def union(geoms: Sequence[Any], *, grid: float | None = GRID) -> Areal:
    """Union of polygons, snap-rounded to ``grid`` (GRID) unless ``grid`` is None."""
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


def compactness(geom: Areal) -> float:
    """Isoperimetric quotient 4πA/P² (1 for a disc, ~0.785 for a square, → 0 for slivers)."""
    return 4.0 * math.pi * float(geom.area) / float(geom.length) ** 2


def partition(
    poly: Areal, n: int, theta: float, rng: np.random.Generator, *, jitter: float = 0.1
) -> list[Areal]:
    """Cut ``poly`` into ``n`` parts of similar area by recursive straight cuts (k-d style).

    Each cut runs along one of the frame axes (the one leaving the more compact parts,
    preferring a cut across the longer extent); the area share is jittered by ±``jitter``.
    Parts come out in a spatially coherent order (west or north first).
    """
    if n <= 1:
        return [poly]
    n1 = n // 2
    w, h = frame_extent(poly, theta)
    frac = n1 / n * (1.0 + float(rng.uniform(-jitter, jitter)))
    options = []
    for rank, axis in enumerate((0, 1) if w >= h else (1, 0)):
        low, high = cut(poly, theta, axis, frac)
        single = isinstance(low, Polygon) and isinstance(high, Polygon)
        score = min(compactness(low), compactness(high)) * (1.0 if rank == 0 else 0.8)
        options.append((single, score, -rank, axis, low, high))
    _, _, _, axis, low, high = max(options, key=lambda o: o[:3])
    if axis == 1:  # the high side (north) first, so numbering reads north to south
        low, high = high, low
        n1 = n - n1
    return partition(low, n1, theta, rng, jitter=jitter) + partition(
        high, n - n1, theta, rng, jitter=jitter
    )


def _merge_slivers(faces: list[Polygon]) -> list[Polygon]:
    """Merge every sliver face (thinner than SLIVER_WIDTH on average) into the neighbouring
    face it shares the most boundary with. Faces share exact edges, so the float union is
    exact; the long, nearly doubled edge of the sliver disappears from the coverage."""
    faces = list(faces)
    while True:
        slivers = [i for i, f in enumerate(faces) if 2.0 * f.area / f.length < SLIVER_WIDTH]
        if not slivers:
            return faces
        i = min(slivers, key=lambda k: (float(faces[k].area), k))
        best: tuple[float, int] | None = None
        for j, other in enumerate(faces):
            if j == i or not other.intersects(faces[i]):
                continue
            shared = float(shapely.intersection(faces[i].boundary, other.boundary).length)
            if shared > 0.0 and (best is None or shared > best[0]):
                best = (shared, j)
        if best is None:
            raise RuntimeError("isolated sliver face")
        merged = as_areal(shapely.union(faces[best[1]], faces[i]))
        if not isinstance(merged, Polygon):
            raise RuntimeError("sliver merge did not give one polygon")
        faces[best[1]] = merged
        del faces[i]


def build_coverage(leaves: Sequence[Areal]) -> list[list[Polygon]]:
    """Re-node (nearly) tiling polygons so that neighbours share exact vertices.

    All boundaries are noded together on the GRID lattice and polygonized; sliver faces
    (left by nearly coincident lines) are merged into a neighbour; each face then goes to
    the leaf holding its interior point. Returns the faces of each leaf; the union of a
    leaf's faces (or of any group of leaves' faces) is its final geometry.
    """
    lines = [p.boundary for leaf in leaves for p in polygons_of(leaf)]
    noded = shapely.union_all(lines, grid_size=GRID)
    faces = _merge_slivers(polygons_of(shapely.polygonize(list(getattr(noded, "geoms", [noded])))))
    tree = shapely.STRtree(list(leaves))
    owned: list[list[Polygon]] = [[] for _ in leaves]
    for face in faces:
        pt = face.representative_point()
        hits = sorted(int(i) for i in tree.query(pt, predicate="within"))
        if not hits:
            cands = sorted(int(i) for i in tree.query(face))
            hits = [max(cands, key=lambda i: (float(leaves[i].intersection(face).area), -i))]
        owned[hits[0]].append(face)
    for i, faces_i in enumerate(owned):
        if not faces_i:
            raise RuntimeError(f"leaf {i} lost all its faces while noding")
    return owned


def faces_union(faces: Sequence[Polygon]) -> Areal:
    """The union of coverage faces: exact (float), as faces share their edges exactly."""
    return faces[0] if len(faces) == 1 else union(faces, grid=None)


def shared_edge(a: Areal, b: Areal) -> LineString | None:
    """The longest connected stretch of boundary shared by ``a`` and ``b`` (or None)."""
    common = shapely.line_merge(shapely.intersection(a.boundary, b.boundary, grid_size=GRID))
    lines = [g for g in getattr(common, "geoms", [common]) if isinstance(g, LineString)]
    lines = [ln for ln in lines if not ln.is_empty]
    if not lines:
        return None
    return max(lines, key=lambda ln: (float(ln.length), ln.coords[0]))


def edge_box(
    edge: LineString, inside: Areal, s0: float, s1: float, t0: float, t1: float
) -> Polygon:
    """The rectangle s0..s1 × t0..t1 in (along, across) coordinates of the straight ``edge``.

    ``s`` runs along the edge from its midpoint, ``t`` across it, positive into ``inside``;
    corners are rounded to the GRID lattice.
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
        return (snap(m[0] + s * d[0] + t * n[0]), snap(m[1] + s * d[1] + t * n[1]))

    return Polygon([at(s0, t0), at(s1, t0), at(s1, t1), at(s0, t1)])


def _ring_with(coords: np.ndarray, pts: np.ndarray, tol: float) -> np.ndarray:
    out: list[np.ndarray] = []
    for a, b in itertools.pairwise(coords):
        out.append(a)
        d = b - a
        length2 = float(d @ d)
        if length2 == 0.0:
            continue
        t = ((pts - a) @ d) / length2
        foot = a + np.outer(t, d)
        dist = np.hypot(*(pts - foot).T)
        hit = (t > 0.0) & (t < 1.0) & (dist <= tol)
        hit &= np.all(pts != a, axis=1) & np.all(pts != b, axis=1)
        for k in np.argsort(t[hit], kind="stable"):
            out.append(pts[hit][k])
    out.append(coords[-1])
    return np.asarray(out)


def insert_vertices(geom: Areal, points: np.ndarray, tol: float = 0.6 * GRID) -> Areal:
    """``geom`` with each of ``points`` lying within ``tol`` of one of its edges inserted
    as a vertex there (the T-junctions left by a local edit become shared vertices)."""
    polys: list[Polygon] = []
    for poly in polygons_of(geom):
        rings = [np.asarray(poly.exterior.coords)] + [np.asarray(r.coords) for r in poly.interiors]
        new = [_ring_with(r, points, tol) for r in rings]
        polys.append(Polygon(new[0], new[1:]))
    return polys[0] if len(polys) == 1 and isinstance(geom, Polygon) else MultiPolygon(polys)
