"""Codes, addresses, names and households of buildings; names and totals of areas; corridors.

Residential compounds are lanes (弄) off the nearest road, a few micro-grids each, with their
buildings numbered 1, 2, 3… (兰溪路99弄12号); other buildings get a road number (铜川路318号).
A micro-grid is named after its building range (兰溪路99弄1-8号).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import shapely

from gis.demo.buildings import corridor_slices
from gis.demo.model import Area, Building
from gis.demo.names import NON_RESIDENTIAL_KINDS, compound_names
from gis.demo.street import Road

ANCILLARY_KINDS: Final[tuple[str, ...]] = ("非机动车棚", "垃圾厢房", "门卫室", "物业用房")
PER_FLOOR: Final[dict[str, int]] = {"slab": 2, "lshape": 2, "tower": 4, "house": 3}
MG_HOUSEHOLDS: Final = (105, 295)


def _span(numbers: Sequence[int]) -> str:
    if not numbers:
        return ""
    lo, hi = min(numbers), max(numbers)
    return f"{lo}号" if lo == hi else f"{lo}-{hi}号"


def _largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    w = np.asarray(weights, dtype=float)
    raw = w / w.sum() * total
    base = np.floor(raw).astype(int)
    order = sorted(range(len(w)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[: total - int(base.sum())]:
        base[i] += 1
    return [int(v) for v in base]


def finish(
    areas: dict[str, Area],
    buildings: list[Building],
    roads: Sequence[Road],
    keep: Sequence[Building],
    rng: np.random.Generator,
) -> None:
    """Fill in building codes, uses, addresses and households, and area names and totals.

    A few buildings become shops, offices or community rooms, except those in ``keep``
    (planted defects, buildings of blocks). Adds corridor areas to ``areas`` for every block.
    """
    for n, b in enumerate(buildings, start=1):
        b.code = f"B{n:04d}"
    _uses(buildings, keep, rng)
    _households(buildings, rng)
    _addresses(areas, buildings, roads, rng)
    _area_totals(areas, buildings)
    _corridors(areas, buildings)


def _uses(buildings: list[Building], keep: Sequence[Building], rng: np.random.Generator) -> None:
    kept = {id(b) for b in keep}
    left: dict[str, int] = {}
    for b in buildings:
        if b.shape != "shed":
            left[b.micro_grid] = left.get(b.micro_grid, 0) + 1
    for b in buildings:
        if b.shape == "shed":
            b.use = "ancillary"
        elif id(b) not in kept and rng.random() < 0.06 and left[b.micro_grid] > 2:
            b.use = "public" if rng.random() < 0.25 else "commercial"
            left[b.micro_grid] -= 1


def _households(buildings: list[Building], rng: np.random.Generator) -> None:
    by_mg: dict[str, list[Building]] = {}
    for b in buildings:
        if b.use == "residential" and not b.outside:
            by_mg.setdefault(b.micro_grid, []).append(b)
    for b in buildings:
        if b.outside:
            b.households = 6
    lo, hi = MG_HOUSEHOLDS
    for mg in sorted(by_mg):
        res = by_mg[mg]
        capacity = sum(b.capacity for b in res)
        target = int(np.clip(round(capacity * float(rng.uniform(0.72, 0.92))), lo, hi))
        shares = _largest_remainder(target - len(res), [b.capacity for b in res])
        for b, extra in zip(res, shares, strict=True):
            b.households = 1 + extra
    for b in buildings:
        if b.use != "residential":
            continue
        per_floor = PER_FLOOR[b.shape] * (b.units if b.shape in ("slab", "lshape") else 1)
        b.floors = max(b.floors, math.ceil(b.households / per_floor))
        b.residents = round(b.households * float(rng.uniform(2.4, 2.8)))


def _nearest_road(point: shapely.Point, roads: Sequence[Road]) -> Road:
    cands = [r for r in roads if r.kind != "railway"]
    return min(cands, key=lambda r: (round(float(r.line.distance(point)), 3), r.name))


def _addresses(
    areas: dict[str, Area],
    buildings: list[Building],
    roads: Sequence[Road],
    rng: np.random.Generator,
) -> None:
    by_mg: dict[str, list[Building]] = {}
    for b in buildings:
        by_mg.setdefault(b.micro_grid, []).append(b)
    lanes: list[list[str]] = []
    for grid in (a for a in areas.values() if a.level == "grid"):
        mgs = [a.code for a in areas.values() if a.level == "micro_grid" and a.parent == grid.code]
        while mgs:
            size = int(rng.integers(2, 5))
            lanes.append(mgs[:size])
            mgs = mgs[size:]
    compounds = compound_names(rng, len(lanes))
    lane_no: dict[str, int] = {}
    road_no: dict[str, int] = {}
    for lane, compound in zip(lanes, compounds, strict=True):
        centre = shapely.centroid(shapely.union_all([areas[c].geom for c in lane]))
        road = _nearest_road(centre, roads).name
        if road in lane_no:
            lane_no[road] += 2 * int(rng.integers(4, 60))
        else:
            lane_no[road] = 1 + 2 * int(rng.integers(0, 60))
        number = lane_no[road]
        house = 0
        seen: dict[str, int] = {}
        for mg in lane:
            numbers: list[int] = []
            for b in by_mg.get(mg, []):
                if b.use == "residential":
                    house += 1
                    b.name = f"{compound}{house}号楼"
                    b.address = f"{road}{number}弄{house}号"
                    b.house_no = house
                    if not b.outside:
                        numbers.append(house)
                    continue
                if road in road_no:
                    road_no[road] += 2 * int(rng.integers(1, 12))
                else:
                    road_no[road] = 2 * int(rng.integers(1, 60))
                b.address = f"{road}{road_no[road]}号"
                if b.use == "ancillary":
                    kind = ANCILLARY_KINDS[int(rng.integers(len(ANCILLARY_KINDS)))]
                    seen[kind] = seen.get(kind, 0) + 1
                    b.name = f"{compound}{kind}" + (str(seen[kind]) if seen[kind] > 1 else "")
                else:
                    kind = NON_RESIDENTIAL_KINDS[int(rng.integers(len(NON_RESIDENTIAL_KINDS)))]
                    b.name = f"{b.address}{kind}"
            area = areas[mg]
            area.name = f"{road}{number}弄{_span(numbers)}"
            area.props["lane"] = f"{road}{number}弄"
            area.props["compound"] = compound


def _area_totals(areas: dict[str, Area], buildings: list[Building]) -> None:
    households: dict[str, int] = {}
    residents: dict[str, int] = {}
    count: dict[str, int] = {}
    for b in buildings:
        if b.outside:
            continue
        code: str | None = b.micro_grid
        while code is not None:
            households[code] = households.get(code, 0) + b.households
            residents[code] = residents.get(code, 0) + b.residents
            count[code] = count.get(code, 0) + 1
            code = areas[code].parent
    for a in areas.values():
        if a.level == "block":
            continue
        a.props["households"] = households.get(a.code, 0)
        a.props["residents"] = residents.get(a.code, 0)
        a.props["buildings"] = count.get(a.code, 0)
    for a in areas.values():
        if a.level == "micro_grid":
            grid = areas[a.parent or ""]
            community = areas[grid.parent or ""]
            a.props["alias"] = f"{community.name}{grid.name}第{int(a.code[-2:])}微网格"


def block_members(block: Area, buildings: Sequence[Building]) -> list[Building]:
    """Buildings of the block's micro-grid whose interior point lies in the block."""
    return [
        b
        for b in buildings
        if b.micro_grid == block.parent and block.geom.contains(b.geom.representative_point())
    ]


def _corridors(areas: dict[str, Area], buildings: list[Building]) -> None:
    new: list[Area] = []
    for block in [a for a in areas.values() if a.level == "block"]:
        members = block_members(block, buildings)
        res = [b for b in members if b.use == "residential"]
        mg = areas[block.parent or ""]
        block.name = f"{mg.props['lane']}{_span([b.house_no for b in res])}责任块"
        block.props["households"] = sum(b.households for b in members)
        block.props["residents"] = sum(b.residents for b in members)
        block.props["buildings"] = len(members)
        n = 0
        for b in res:
            slices = corridor_slices(b)
            shares = _largest_remainder(b.households, [1.0] * len(slices))
            for u, (geom, hh) in enumerate(zip(slices, shares, strict=True), start=1):
                n += 1
                corridor = Area(
                    "corridor", f"{block.code}-C{n:02d}", f"{b.address}{u}单元", block.code, geom
                )
                corridor.props["building_code"] = b.code
                corridor.props["households"] = hh
                new.append(corridor)
    for c in new:
        areas[c.code] = c
