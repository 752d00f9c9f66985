"""Deliberate coverage defects, planted exactly and recorded as an answer key.

Geometric defects are planted on the final micro-grids (on the GRID lattice) of communities without
blocks, each in a different grid: a gap, an overlap, a sliver gap, a building split by a
boundary and a building in the gap (outside every micro-grid). Staffing defects (an
unstaffed micro-grid, buildings without a team leader) are chosen after the buildings are
numbered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from gis.demo.geom import (
    GRID,
    Areal,
    as_areal,
    edge_box,
    insert_vertices,
    polygons_of,
    shared_edge,
)
from gis.demo.model import Area, Building, Defect

#: Size of each planted defect, in metres along (s) and across (t) the shared edge.
GAP_S: Final = (-15.0, 15.0)
GAP_T: Final = (-1.0, 14.0)  # 30 m x 14 m = 420 m² of micro-grid A left uncovered
OVERLAP_S: Final = (-20.0, 20.0)
OVERLAP_T: Final = (-8.0, 0.5)  # 40 m x 8 m = 320 m² of D claimed by C as well
SLIVER_S: Final = (-25.0, 25.0)
SLIVER_T: Final = (-1.0, 1.2)  # 50 m x 1.2 m = 60 m² uncovered
SPLIT_S: Final = (-6.0, 6.0)
SPLIT_T: Final = (-16.0, 24.0)  # a 12 m x 40 m slab, 60 % in G and 40 % in H
OUTSIDE_S: Final = (-10.0, 10.0)
OUTSIDE_T: Final = (3.0, 11.0)  # a 20 m x 8 m house inside the gap


@dataclass
class Site:
    """A planted defect before building codes exist."""

    kind: str
    description: str
    area_codes: list[str]
    buildings: list[Building]
    x: float
    y: float
    area_m2: float | None = None
    width_m: float | None = None
    length_m: float | None = None
    share: float | None = None
    staff_count: int | None = None


@dataclass(frozen=True)
class _Pair:
    a: str
    b: str
    edge: LineString


def _pairs(areas: dict[str, Area], blocked: Sequence[str]) -> list[_Pair]:
    """Sibling micro-grids sharing a straight edge of at least 70 m, outside ``blocked``."""
    out: list[_Pair] = []
    grids = [a for a in areas.values() if a.level == "grid" and a.parent not in blocked]
    for g in grids:
        kids = [a for a in areas.values() if a.level == "micro_grid" and a.parent == g.code]
        for i, a in enumerate(kids):
            for b in kids[i + 1 :]:
                if not a.geom.intersects(b.geom):
                    continue
                edge = shared_edge(a.geom, b.geom)
                if edge is None or edge.length < 70.0:
                    continue
                (x0, y0), (x1, y1) = edge.coords[0], edge.coords[-1]
                if math.hypot(x1 - x0, y1 - y0) < edge.length - 0.01:
                    continue  # not straight
                out.append(_Pair(a.code, b.code, edge))
                out.append(_Pair(b.code, a.code, edge))
    return out


def _grid_of(code: str) -> str:
    return code.rsplit("-", 1)[0]


def _fits(rect: Polygon, geom: Areal, expected: float) -> bool:
    return abs(float(rect.intersection(geom).area) - expected) < 0.5


def _sides(geom: Areal) -> tuple[float, float]:
    """Short and long side (m) of the minimum rotated rectangle around ``geom``."""
    xy = np.asarray(shapely.minimum_rotated_rectangle(geom).exterior.coords)
    a, b = (float(math.hypot(*(xy[i + 1] - xy[i]))) for i in range(2))
    return round(min(a, b), 2), round(max(a, b), 2)


def _clear(buildings: list[Building], zone: Areal) -> None:
    buildings[:] = [b for b in buildings if not b.geom.intersects(zone)]


def plant_geometry(
    areas: dict[str, Area],
    buildings: list[Building],
    no_build: Areal,
    blocked: Sequence[str],
    rng: np.random.Generator,
) -> list[Site]:
    """Plant the gap, overlap, sliver, split-building and outside-building defects."""
    pairs = _pairs(areas, blocked)
    order = [pairs[int(i)] for i in rng.permutation(len(pairs))]
    used_grids: set[str] = set()
    used_mgs: set[str] = set()
    sites: list[Site] = []

    def pick(test: str) -> tuple[_Pair, Polygon]:
        for p in order:
            g = _grid_of(p.a)
            if g in used_grids or p.a in used_mgs or p.b in used_mgs:
                continue
            rect = _try(test, p)
            if rect is not None:
                used_grids.add(g)
                used_mgs.update((p.a, p.b))
                return p, rect
        raise RuntimeError(f"no place to plant the {test} defect")

    def _try(test: str, p: _Pair) -> Polygon | None:
        a, b = areas[p.a].geom, areas[p.b].geom
        s, t = {
            "gap": (GAP_S, GAP_T),
            "overlap": (OVERLAP_S, OVERLAP_T),
            "sliver": (SLIVER_S, SLIVER_T),
            "split": (SPLIT_S, SPLIT_T),
        }[test]
        rect = edge_box(p.edge, a, s[0], s[1], t[0], t[1])
        width = s[1] - s[0]
        if test == "overlap":
            ok = _fits(rect, b, width * -t[0]) and _fits(rect, a, width * t[1])
        elif test == "split":
            ok = _fits(rect, a, width * t[1]) and _fits(rect, b, width * -t[0])
            ok = ok and not rect.intersects(no_build)
        else:
            ok = _fits(rect, a, width * t[1]) and _fits(rect, b, width * -t[0])
            ok = ok and isinstance(as_areal(a.difference(rect, grid_size=GRID)), Polygon)
        if test == "gap":
            house = edge_box(p.edge, a, *OUTSIDE_S, *OUTSIDE_T)
            ok = ok and not house.intersects(no_build)
        zone = rect.buffer(6.0)  # buildings cleared around the edit: keep some in both
        for code in (p.a, p.b):
            ok = ok and any(
                x.micro_grid == code and x.shape != "shed" and not x.geom.intersects(zone)
                for x in buildings
            )
        return rect if ok else None

    # the gap, with a house standing in it
    p, rect = pick("gap")
    a = areas[p.a]
    house_geom = edge_box(p.edge, a.geom, *OUTSIDE_S, *OUTSIDE_T)
    gap = as_areal(a.geom.intersection(rect, grid_size=GRID))
    a.geom = as_areal(a.geom.difference(rect, grid_size=GRID))
    _clear(buildings, rect.buffer(4.0))
    c = gap.centroid
    sites.append(
        Site(
            "gap",
            f"{gap.area:.0f} m² between micro-grids {p.a} and {p.b} belong to neither "
            f"(inside grid {_grid_of(p.a)})",
            [p.a, p.b],
            [],
            c.x,
            c.y,
            area_m2=round(float(gap.area), 1),
        )
    )
    house = Building(p.a, 10_000, house_geom, 0.0, None, "house", 1, 3, 9, outside=True)
    buildings.append(house)
    hc = house_geom.centroid
    sites.append(
        Site(
            "building_outside",
            f"a house stands in the gap next to {p.a}, inside no micro-grid",
            [p.a],
            [house],
            hc.x,
            hc.y,
            area_m2=round(float(house_geom.area), 1),
            share=0.0,
        )
    )

    # the overlap: micro-grid C also claims a strip of its sibling D
    p, rect = pick("overlap")
    c_area, d_area = areas[p.a], areas[p.b]
    claimed = as_areal(rect.intersection(shapely.union(c_area.geom, d_area.geom), grid_size=GRID))
    c_area.geom = as_areal(shapely.union(c_area.geom, claimed, grid_size=GRID))
    overlap = as_areal(c_area.geom.intersection(d_area.geom, grid_size=GRID))
    _clear(buildings, rect.buffer(3.0))
    oc = overlap.centroid
    sites.append(
        Site(
            "overlap",
            f"micro-grids {p.a} and {p.b} both claim {overlap.area:.0f} m²",
            [p.a, p.b],
            [],
            oc.x,
            oc.y,
            area_m2=round(float(overlap.area), 1),
        )
    )

    # the sliver: a 1.2 m wide strip of E left uncovered along its edge with F
    p, rect = pick("sliver")
    e_area = areas[p.a]
    sliver = as_areal(e_area.geom.intersection(rect, grid_size=GRID))
    e_area.geom = as_areal(e_area.geom.difference(rect, grid_size=GRID))
    sc = sliver.centroid
    width, length = _sides(sliver)
    sites.append(
        Site(
            "sliver",
            f"a {width:.2f} m wide, {length:.1f} m long strip between {p.a} and {p.b} "
            "belongs to neither",
            [p.a, p.b],
            [],
            sc.x,
            sc.y,
            area_m2=round(float(sliver.area), 1),
            width_m=width,
            length_m=length,
        )
    )

    # the split building: a slab across the edge between G (60 %) and H (40 %)
    p, rect = pick("split")
    _clear(buildings, rect.buffer(6.0))
    slab = Building(p.a, -1, rect, 0.0, None, "slab", 3, 6, 36)
    buildings.append(slab)
    share = float(rect.intersection(areas[p.a].geom).area) / float(rect.area)
    bc = rect.centroid
    sites.append(
        Site(
            "building_split",
            f"a slab straddles the boundary of {p.a} ({share:.0%}) and {p.b} ({1 - share:.0%})",
            [p.a, p.b],
            [slab],
            bc.x,
            bc.y,
            area_m2=round(float(rect.area), 1),
            share=round(share, 3),
        )
    )
    buildings.sort(key=lambda b: (b.micro_grid, b.order))
    for grid in sorted(used_grids):
        _renode(areas, grid)
    return sites


def _renode(areas: dict[str, Area], grid: str) -> None:
    """Insert the vertices the edits created into the siblings' edges they lie on."""
    kids = [a for a in areas.values() if a.level == "micro_grid" and a.parent == grid]
    for a in kids:
        others = [
            np.asarray(ring.coords)
            for b in kids
            if b is not a
            for p in polygons_of(b.geom)
            for ring in (p.exterior, *p.interiors)
        ]
        a.geom = insert_vertices(a.geom, np.unique(np.vstack(others), axis=0))


def pick_unstaffed(
    areas: dict[str, Area], sites: Sequence[Site], blocked: Sequence[str], rng: np.random.Generator
) -> str:
    """A micro-grid (away from the other defects) that will get no staff at all."""
    used = {c for s in sites for c in s.area_codes}
    used_grids = {_grid_of(c) for c in used}
    cands = [
        a.code
        for a in areas.values()
        if a.level == "micro_grid"
        and a.code not in used
        and _grid_of(a.code) not in used_grids
        and not any(a.code.startswith(b) for b in blocked)
    ]
    return cands[int(rng.integers(len(cands)))]


def pick_no_leader(
    buildings: Sequence[Building],
    sites: Sequence[Site],
    unstaffed: str,
    blocked: Sequence[str],
    rng: np.random.Generator,
    count: int = 4,
) -> list[Building]:
    """``count`` ordinary residential buildings, in different micro-grids, left without a
    building team leader."""
    special = {id(b) for s in sites for b in s.buildings}
    used = {c for s in sites for c in s.area_codes} | {unstaffed}
    cands = [
        b
        for b in buildings
        if b.use == "residential"
        and id(b) not in special
        and b.micro_grid not in used
        and not any(b.micro_grid.startswith(c) for c in blocked)
    ]
    chosen: list[Building] = []
    for i in rng.permutation(len(cands)):
        b = cands[int(i)]
        if all(_grid_of(b.micro_grid) != _grid_of(o.micro_grid) for o in chosen):
            chosen.append(b)
        if len(chosen) == count:
            break
    return sorted(chosen, key=lambda b: b.code)


_PREFIX: Final[dict[str, str]] = {
    "gap": "GAP",
    "building_outside": "OUTSIDE",
    "overlap": "OVERLAP",
    "sliver": "SLIVER",
    "building_split": "SPLIT",
    "unstaffed": "UNSTAFFED",
    "no_building_leader": "NOLEADER",
    "unpatrolled": "UNPATROLLED",
}


def finalize(sites: Sequence[Site]) -> list[Defect]:
    """Answer-key records with codes like ``D-GAP-1``, in a fixed order of kinds."""
    out: list[Defect] = []
    counters: dict[str, int] = {}
    for kind in _PREFIX:
        for s in (s for s in sites if s.kind == kind):
            counters[kind] = counters.get(kind, 0) + 1
            out.append(
                Defect(
                    f"D-{_PREFIX[kind]}-{counters[kind]}",
                    kind,
                    s.description,
                    list(s.area_codes),
                    [b.code for b in s.buildings],
                    s.x,
                    s.y,
                    s.area_m2,
                    s.width_m,
                    s.length_m,
                    s.share,
                    s.staff_count,
                )
            )
    return out
