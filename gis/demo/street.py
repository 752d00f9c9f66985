"""The street's outline and road network, and the city blocks (parcels) they enclose.

Local metres, origin at the street centre (lon 121.40, lat 31.25). The road grid is laid out
in a "network frame" rotated a few degrees from east, like much of Putuo; two roads are
skewed against it and the Shanghai–Nanjing railway crosses the street diagonally.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from gis.demo.geom import GRID, Areal, polygons_of, rotate_xy, union

#: Street area to aim for (m²): Zhenru Town Street is about 6 km².
STREET_AREA: Final = 6.0e6

#: Half-widths (m) of the road reserve, and the building setback behind it.
HALF_WIDTH: Final[dict[str, float]] = {"main": 16.0, "secondary": 9.0, "railway": 22.0}
SETBACK: Final[dict[str, float]] = {"main": 8.0, "secondary": 5.0, "railway": 14.0}

#: Parcels smaller than this (m²) are merged into a neighbour.
MIN_PARCEL: Final = 14_000.0

# The outline before jitter and scaling, counter-clockwise (network frame, metres).
_OUTLINE: Final[tuple[tuple[float, float], ...]] = (
    (-1700, -600),
    (-1560, -980),
    (-700, -1080),
    (150, -1010),
    (900, -1090),
    (1550, -860),
    (1720, -200),
    (1640, 420),
    (1450, 900),
    (600, 1020),
    (-200, 1080),
    (-950, 980),
    (-1500, 760),
    (-1760, 150),
)


@dataclass(frozen=True)
class Road:
    """A named road (or the railway): kind is ``main``, ``secondary`` or ``railway``."""

    name: str
    kind: str
    line: LineString


@dataclass(frozen=True)
class StreetPlan:
    """The street outline, its roads, the parcels between them and the no-build mask."""

    outline: Polygon
    roads: tuple[Road, ...]
    parcels: tuple[Polygon, ...]
    no_build: Areal
    theta: float


def _outline(rng: np.random.Generator, theta: float) -> Polygon:
    pts = np.asarray(_OUTLINE, dtype=float)
    pts += rng.uniform(-40.0, 40.0, size=pts.shape)
    ring: list[np.ndarray] = []
    for i in range(len(pts)):
        a, b = pts[i], pts[(i + 1) % len(pts)]
        ring.append(a)
        d = b - a
        normal = np.array([-d[1], d[0]]) / float(np.hypot(d[0], d[1]))
        ring.append((a + b) / 2.0 + normal * float(rng.uniform(-25.0, 25.0)))
    xy = np.asarray(ring)
    scale = math.sqrt(STREET_AREA / float(Polygon(xy).area))
    xy = rotate_xy(xy * scale, theta)
    return Polygon(np.round(xy, 3))


def _line(points: list[tuple[float, float]], theta: float) -> LineString:
    return LineString(np.round(rotate_xy(np.asarray(points, dtype=float), theta), 3))


def _roads(rng: np.random.Generator, theta: float) -> tuple[Road, ...]:
    def j(v: float, amp: float = 40.0) -> float:
        return v + float(rng.uniform(-amp, amp))

    far = 2600.0
    roads: list[Road] = []
    # main roads: east-west (constant v) and north-south (constant u), each slightly tilted
    for name, v in (("梅川路", -690.0), ("铜川路", -40.0), ("武威路", 610.0)):
        v0, tilt = j(v), float(rng.uniform(-25.0, 25.0))
        roads.append(Road(name, "main", _line([(-far, v0 - tilt), (far, v0 + tilt)], theta)))
    for name, u in (("真北路", -1150.0), ("真华路", -420.0), ("兰溪路", 330.0)):
        u0, tilt = j(u), float(rng.uniform(-25.0, 25.0))
        roads.append(Road(name, "main", _line([(u0 - tilt, -far), (u0 + tilt, far)], theta)))
    # a skewed main road in the east, about 14° off the grid
    u0 = j(1080.0)
    roads.append(Road("大渡河路", "main", _line([(u0 - 650.0, -far), (u0 + 650.0, far)], theta)))
    # secondary roads, ending on (and slightly past) main roads
    secondary = (
        ("清涧路", "v", -370.0, -1260.0, 420.0),
        ("真光路", "v", 290.0, -500.0, far),
        ("杏山路", "v", 880.0, -far, 420.0),
        ("新村路", "v", -950.0, -500.0, far),
        ("管弄路", "u", -790.0, -770.0, 690.0),
        ("杨家桥路", "u", -60.0, -far, 30.0),
        ("中宁路", "u", -40.0, -110.0, far),
        ("白丽路", "u", 720.0, -far, 690.0),
        ("西乡路", "u", -1480.0, -770.0, far),
        ("宁强路", "v", -330.0, 260.0, far),
        ("怒江路", "u", 1420.0, -far, 320.0),
        ("交通路", "v", 230.0, -far, -380.0),
    )
    for name, axis, c, a, b in secondary:
        c0 = j(c, 30.0)
        pts = [(a, c0), (b, c0)] if axis == "v" else [(c0, a), (c0, b)]
        roads.append(Road(name, "secondary", _line(pts, theta)))
    # a secondary road skewed about 20° against the grid in the north-west
    roads.append(Road("曹杨路", "secondary", _line([(-1950.0, 120.0), (-330.0, 738.0)], theta)))
    # the railway: a gentle curve from south-west to north-east
    rail = [(-far, -1500.0), (-900.0, -720.0), (300.0, -220.0), (far, 560.0)]
    roads.append(Road("沪宁铁路", "railway", _line([(u, j(v, 20.0)) for u, v in rail], theta)))
    return tuple(roads)


def _merge_small(parcels: list[Polygon], barrier: LineString) -> list[Polygon]:
    """Merge parcels below MIN_PARCEL (or very thin ones) into their longest neighbour,
    preferring one on the same side of ``barrier`` (the railway)."""
    parts = list(parcels)
    near_barrier = barrier.buffer(1.0)
    while True:
        small = [
            i
            for i, p in enumerate(parts)
            if p.area < MIN_PARCEL
            or (p.area < 3 * MIN_PARCEL and 4 * math.pi * p.area / p.length**2 < 0.25)
        ]
        if not small:
            return parts
        i = min(small, key=lambda k: (float(parts[k].area), k))
        best: tuple[float, float, int] | None = None
        for k, q in enumerate(parts):
            if k == i or not parts[i].intersects(q):
                continue
            common = shapely.intersection(parts[i].boundary, q.boundary, grid_size=GRID)
            open_len = float(common.difference(near_barrier).length)
            cand = (open_len, float(common.length), -k)
            if common.length > 0 and (best is None or cand > best):
                best = cand
        if best is None:
            raise RuntimeError("isolated parcel")
        k = -best[2]
        merged = union([parts[i], parts[k]])
        if not isinstance(merged, Polygon):
            raise RuntimeError("merged parcel is not a polygon")
        parts[k] = merged
        del parts[i]


def plan_street(rng: np.random.Generator) -> StreetPlan:
    """Outline, roads and parcels of the demo street (all in local metres)."""
    theta = math.radians(float(rng.uniform(6.0, 9.0)))
    outline = _outline(rng, theta)
    roads = _roads(rng, theta)
    noded = shapely.union_all([outline.exterior, *(r.line for r in roads)], grid_size=GRID)
    faces = polygons_of(shapely.polygonize(list(getattr(noded, "geoms", [noded]))))
    inside = [f for f in faces if outline.contains(f.representative_point())]
    rail = next(r.line for r in roads if r.kind == "railway")
    parcels = _merge_small(inside, rail)
    # sort parcels north to south in bands, then west to east (stable, coordinate based)
    parcels.sort(key=lambda p: (-round(p.centroid.y / 150.0), p.centroid.x))
    masks = [r.line.buffer(HALF_WIDTH[r.kind] + SETBACK[r.kind], cap_style="flat") for r in roads]
    masks.append(outline.exterior.buffer(14.0))
    no_build = union(masks, grid=None)
    street = union(parcels)
    if not isinstance(street, Polygon):
        raise RuntimeError("street outline is not a single polygon")
    return StreetPlan(street, roads, tuple(parcels), no_build, theta)
