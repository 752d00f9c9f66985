"""Building footprints placed in rows inside micro-grids, and the blocks and corridors.

Buildings follow their grid's orientation: six-storey slabs (the 新村 of the 1980s–90s) in
rows about 30 m apart, some L-shaped; compounds of high-rise towers; and low-rise houses in
the old village parts. Blocks (责任块) group a few rows of a micro-grid; a corridor (楼道) is
one stairwell, the slice of a slab served by one entrance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, Polygon
from shapely.ops import split

from gis.demo.geom import Areal, frame_box, frame_polygon, polygons_of, rotate, union
from gis.demo.model import Building

#: Width (m) of one stairwell bay of a slab, and the setback from micro-grid edges.
UNIT: Final = 13.0
EDGE_SETBACK: Final = 5.0

STYLES: Final[tuple[str, ...]] = ("slab", "slab", "slab", "slab", "slab", "slab", "tower", "house")


@dataclass(frozen=True)
class Placed:
    """A footprint before it becomes a Building: shape, frame rectangle, size, row."""

    geom: Polygon
    frame: tuple[float, float, float, float] | None
    shape: str
    units: int
    floors: int
    capacity: int
    row: int


def place(
    region: Areal, theta: float, style: str, rng: np.random.Generator, *, allow_l: bool = True
) -> list[Placed]:
    """Footprints in rows inside ``region`` (already set back from roads and edges)."""
    if region.is_empty:
        return []
    rf = rotate(region, -theta)
    shapely.prepare(rf)
    if style == "tower":
        return _towers(rf, theta, rng)
    if style == "house":
        return _houses(rf, theta, rng)
    return _slabs(rf, theta, rng, allow_l=allow_l)


def _fits(rf: Areal, coords: list[tuple[float, float]]) -> bool:
    return bool(rf.contains(Polygon(coords)))


def _slabs(rf: Areal, theta: float, rng: np.random.Generator, *, allow_l: bool) -> list[Placed]:
    minx, miny, maxx, maxy = rf.bounds
    depth = float(rng.choice([11.0, 11.5, 12.0, 12.5, 13.0]))
    row_gap = float(rng.uniform(15.0, 19.0))
    floors = int(rng.choice([5, 6, 6, 6, 6, 7]))
    preferred = int(rng.choice([2, 3, 3, 4]))
    out: list[Placed] = []
    y = miny + float(rng.uniform(0.0, 6.0))
    row = 0
    while y + depth <= maxy:
        x = minx + float(rng.uniform(0.0, 8.0))
        placed_in_row = False
        while x + 2 * UNIT + 2 <= maxx:
            for units in range(preferred, 1, -1):
                length = units * UNIT + 2.0
                x1, y1 = round(x + length, 2), round(y + depth, 2)
                x0, y0 = round(x, 2), round(y, 2)
                rect = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
                if not _fits(rf, rect):
                    continue
                wing = round(float(rng.uniform(8.0, 11.0)), 2)
                lshape = [
                    (x0, y0),
                    (round(x1 - depth, 2), y0),
                    (round(x1 - depth, 2), round(y0 - wing, 2)),
                    (x1, round(y0 - wing, 2)),
                    (x1, y1),
                    (x0, y1),
                ]
                if allow_l and rng.random() < 0.12 and _fits(rf, lshape):
                    geom = frame_polygon(lshape, theta)
                    cap = (units + 1) * 2 * floors
                    out.append(Placed(geom, None, "lshape", units + 1, floors, cap, row))
                else:
                    geom = frame_box(x0, y0, x1, y1, theta)
                    cap = units * 2 * floors
                    out.append(Placed(geom, (x0, y0, x1, y1), "slab", units, floors, cap, row))
                x += length + float(rng.uniform(6.0, 12.0))
                placed_in_row = True
                break
            else:
                x += 5.0
        y += depth + row_gap
        row += 1 if placed_in_row else 0
    return out


def _towers(rf: Areal, theta: float, rng: np.random.Generator) -> list[Placed]:
    minx, miny, maxx, maxy = rf.bounds
    side = float(rng.choice([20.0, 22.0, 24.0]))
    pitch_x = side + float(rng.uniform(26.0, 34.0))
    pitch_y = side + float(rng.uniform(30.0, 40.0))
    out: list[Placed] = []
    y = miny + float(rng.uniform(0.0, 8.0))
    row = 0
    while y + side <= maxy:
        x = minx + float(rng.uniform(0.0, 10.0)) + (pitch_x / 2.0 if row % 2 else 0.0)
        while x + side <= maxx:
            x0, y0 = round(x, 2), round(y, 2)
            x1, y1 = round(x + side, 2), round(y + side, 2)
            if _fits(rf, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]):
                floors = int(rng.integers(11, 19))
                geom = frame_box(x0, y0, x1, y1, theta)
                out.append(Placed(geom, (x0, y0, x1, y1), "tower", 1, floors, floors * 4, row))
                x += pitch_x
            else:
                x += 6.0
        y += pitch_y
        row += 1
    return out


def _houses(rf: Areal, theta: float, rng: np.random.Generator) -> list[Placed]:
    minx, miny, maxx, maxy = rf.bounds
    out: list[Placed] = []
    y = miny + float(rng.uniform(0.0, 4.0))
    row = 0
    while y + 10.0 <= maxy:
        x = minx + float(rng.uniform(0.0, 4.0))
        depth = float(rng.choice([9.0, 10.0, 11.0]))
        while x + 12.0 <= maxx:
            length = float(rng.choice([12.0, 14.0, 16.0, 18.0]))
            x0, y0 = round(x, 2), round(y, 2)
            x1, y1 = round(x + length, 2), round(y + depth, 2)
            if _fits(rf, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]):
                floors = int(rng.integers(2, 4))
                geom = frame_box(x0, y0, x1, y1, theta)
                out.append(Placed(geom, (x0, y0, x1, y1), "house", 1, floors, floors * 3, row))
                x += length + float(rng.uniform(5.0, 8.0))
            else:
                x += 4.0
        y += depth + float(rng.uniform(9.0, 12.0))
        row += 1
    return out


def fallback(region: Areal, theta: float) -> list[Placed]:
    """One tower at the most inland spot of ``region`` (for awkwardly shaped micro-grids)."""
    circle = shapely.maximum_inscribed_circle(region, 0.5)
    (cx, cy), (ex, ey) = circle.coords[0], circle.coords[1]
    r = math.hypot(ex - cx, ey - cy)
    half = round(min(12.0, 0.65 * r), 2)
    if half < 4.0:
        return []
    c = rotate(shapely.Point(cx, cy), -theta)
    x0, y0 = round(c.x - half, 2), round(c.y - half, 2)
    x1, y1 = round(c.x + half, 2), round(c.y + half, 2)
    geom = frame_box(x0, y0, x1, y1, theta)
    return [Placed(geom, (x0, y0, x1, y1), "tower", 1, 16, 64, 0)]


def block_pieces(mg: Areal, theta: float, buildings: list[Building]) -> list[Areal]:
    """Cut a micro-grid into blocks of a few buildings along the gaps between rows.

    Every block holds at least one building; blocks come in north-to-south order.
    """
    rows: dict[int, list[int]] = {}
    for i, b in enumerate(buildings):
        rows.setdefault(b.row, []).append(i)
    row_ids = sorted(rows)
    minx, _, maxx, _ = rotate(mg, -theta).bounds
    cuts: list[LineString] = []
    count = 0
    for k, r in enumerate(row_ids[:-1]):
        count += len(rows[r])
        if count < 3:
            continue
        top = max(rotate(buildings[i].geom, -theta).bounds[3] for i in rows[r])
        nxt = min(rotate(buildings[i].geom, -theta).bounds[1] for i in rows[row_ids[k + 1]])
        yc = round((top + nxt) / 2.0, 2)
        cuts.append(rotate(LineString([(minx - 10, yc), (maxx + 10, yc)]), theta))
        count = 0
    pieces = polygons_of(split(mg, MultiLineString(cuts))) if cuts else polygons_of(mg)
    members: list[list[int]] = [[] for _ in pieces]
    for i, b in enumerate(buildings):
        pt = b.geom.representative_point()
        for k, piece in enumerate(pieces):
            if piece.contains(pt):
                members[k].append(i)
                break
    geoms: list[Areal] = list(pieces)
    while len(geoms) > 1 and any(not m for m in members):
        k = next(i for i, m in enumerate(members) if not m)
        best, best_len = -1, -1.0
        for j, other in enumerate(geoms):
            if j == k:
                continue
            shared = float(shapely.intersection(geoms[k].boundary, other.boundary).length)
            if shared > best_len:
                best, best_len = j, shared
        geoms[best] = union([geoms[best], geoms[k]], grid=None)
        members[best] += members[k]
        del geoms[k], members[k]

    def key(k: int) -> tuple[float, float]:
        c = rotate(geoms[k].representative_point(), -theta)
        return (-round(float(c.y), 1), round(float(c.x), 1))

    order = sorted(range(len(geoms)), key=key)
    return [geoms[k] for k in order]


def _unit_xs(x0: float, x1: float, units: int) -> list[float]:
    xs = [round(x0 + (x1 - x0) * k / units, 3) for k in range(units + 1)]
    xs[0], xs[-1] = x0, x1
    return xs


def with_unit_vertices(b: Building) -> None:
    """Give a slab's footprint a vertex at every stairwell boundary (so corridors share them)."""
    if b.frame is None or b.units <= 1:
        return
    x0, y0, x1, y1 = b.frame
    xs = _unit_xs(x0, x1, b.units)
    ring = [(x, y0) for x in xs] + [(x, y1) for x in reversed(xs)]
    b.geom = frame_polygon(ring, b.theta)


def corridor_slices(b: Building) -> list[Polygon]:
    """The stairwell slices of a residential building (one per unit; a tower is one)."""
    if b.frame is None or b.units <= 1:
        return [b.geom]
    x0, y0, x1, y1 = b.frame
    xs = _unit_xs(x0, x1, b.units)
    return [
        frame_polygon([(xs[k], y0), (xs[k + 1], y0), (xs[k + 1], y1), (xs[k], y1)], b.theta)
        for k in range(b.units)
    ]


def sheds(
    region: Areal, theta: float, taken: list[Placed], count: int, rng: np.random.Generator
) -> list[Placed]:
    """Up to ``count`` small ancillary structures (e-bike sheds, bin rooms) in free spots."""
    if region.is_empty or count <= 0:
        return []
    rf = rotate(region, -theta)
    shapely.prepare(rf)
    blocked = union([rotate(p.geom, -theta).buffer(4.0) for p in taken], grid=None)
    shapely.prepare(blocked)
    minx, miny, maxx, maxy = rf.bounds
    out: list[Placed] = []
    for _ in range(40 * count):
        if len(out) >= count:
            break
        w, d = float(rng.choice([8.0, 10.0, 12.0, 16.0])), float(rng.choice([5.0, 6.0]))
        x0 = round(float(rng.uniform(minx, maxx - w)), 2) if maxx - minx > w else minx
        y0 = round(float(rng.uniform(miny, maxy - d)), 2) if maxy - miny > d else miny
        coords = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + d), (x0, y0 + d)]
        poly = Polygon(coords)
        if not rf.contains(poly) or blocked.intersects(poly):
            continue
        geom = frame_box(x0, y0, x0 + w, y0 + d, theta)
        out.append(Placed(geom, (x0, y0, x0 + w, y0 + d), "shed", 0, 1, 0, -1))
        blocked = union([blocked, poly.buffer(4.0)], grid=None)
    return out
