"""Fill the micro-grids with buildings, cut blocks, and snap all boundaries into one coverage.

The result is the final area hierarchy (street → community → grid → micro-grid → block) in
local metres, on a 5 cm lattice, where every parent is exactly the union of its children and
neighbours share their vertices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import shapely

from gis.demo.buildings import (
    EDGE_SETBACK,
    STYLES,
    Placed,
    block_pieces,
    fallback,
    place,
    sheds,
    with_unit_vertices,
)
from gis.demo.geom import Areal, as_areal, build_coverage, faces_union
from gis.demo.hierarchy import Draft
from gis.demo.model import Area, Building
from gis.demo.street import StreetPlan

#: A micro-grid whose drawn layout holds fewer households than this tries other layouts.
MIN_CAPACITY: Final = 110


def _region(mg: Areal, no_build: Areal) -> Areal:
    minx, miny, maxx, maxy = mg.bounds
    local = shapely.clip_by_rect(no_build, minx - 1, miny - 1, maxx + 1, maxy + 1)
    free = as_areal(mg.difference(local))
    return as_areal(free.buffer(-EDGE_SETBACK, join_style="mitre"))


def _place_in(
    mg: Draft, plan: StreetPlan, rng: np.random.Generator, *, blocked: bool
) -> list[Placed]:
    """Buildings for one micro-grid: its drawn style, else slabs or towers if those hold more."""
    region = _region(mg.geom, plan.no_build)
    style = str(rng.choice(STYLES[:-1] if blocked else STYLES))
    best: list[Placed] = []
    for s in (style, "slab", "tower"):
        placed = place(region, mg.theta, s, rng, allow_l=not blocked)
        if sum(p.capacity for p in placed) > sum(p.capacity for p in best):
            best = placed
        if sum(p.capacity for p in best) >= MIN_CAPACITY:
            break
    if not best and not region.is_empty:
        best = fallback(region, mg.theta)
    if not best:  # last resort: anywhere in the micro-grid, road setbacks or not
        best = fallback(mg.geom.buffer(-3.0), mg.theta)
    if not best:
        raise RuntimeError(f"no room for a building in {mg.code}")
    if not blocked:
        best = best + sheds(region, mg.theta, best, int(rng.integers(0, 4)), rng)
    return best


def build_estate(
    plan: StreetPlan, drafts: Sequence[Draft], blocked: Sequence[str], rng: np.random.Generator
) -> tuple[dict[str, Area], list[Building]]:
    """Buildings for every micro-grid, blocks in the ``blocked`` communities, final areas."""
    buildings: list[Building] = []
    leaves: list[Areal] = []
    leaf_keys: list[tuple[str, int]] = []  # (micro-grid code, block number or 0)
    by_code = {d.code: d for d in drafts}
    for mg in (d for d in drafts if d.level == "micro_grid"):
        community = by_code[by_code[mg.parent or ""].parent or ""].code
        is_blocked = community in blocked
        first = len(buildings)
        for k, p in enumerate(_place_in(mg, plan, rng, blocked=is_blocked)):
            buildings.append(
                Building(
                    mg.code, k, p.geom, mg.theta, p.frame, p.shape, p.units, p.floors,
                    p.capacity, p.row,
                )
            )  # fmt: skip
        if not is_blocked:
            leaves.append(mg.geom)
            leaf_keys.append((mg.code, 0))
            continue
        mine = buildings[first:]
        for b in mine:
            with_unit_vertices(b)
        for n, geom in enumerate(block_pieces(mg.geom, mg.theta, mine), start=1):
            leaves.append(geom)
            leaf_keys.append((mg.code, n))
    faces = build_coverage(leaves)
    return _assemble(drafts, leaf_keys, faces), buildings


def _assemble(
    drafts: Sequence[Draft], leaf_keys: list[tuple[str, int]], faces: list[list[shapely.Polygon]]
) -> dict[str, Area]:
    """Areas of every level, each the union of the coverage faces of its leaves."""
    by_code = {d.code: d for d in drafts}
    collected: dict[str, list[shapely.Polygon]] = {d.code: [] for d in drafts}
    blocks: list[Area] = []
    for (mg_code, n), leaf_faces in zip(leaf_keys, faces, strict=True):
        code: str | None = mg_code
        while code is not None:
            collected[code].extend(leaf_faces)
            code = by_code[code].parent
        if n:
            theta = by_code[mg_code].theta
            blocks.append(
                Area("block", f"{mg_code}-B{n:02d}", "", mg_code, faces_union(leaf_faces), theta)
            )
    areas: dict[str, Area] = {}
    for d in drafts:
        areas[d.code] = Area(
            d.level, d.code, d.name, d.parent, faces_union(collected[d.code]), d.theta
        )
    for b in blocks:
        areas[b.code] = b
    return dict(sorted(areas.items()))
