"""The demo street's patrol routes (issue 27), and the buildings they deliberately never pass.

Each staffed micro-grid's first grid member walks one route through a point on every one of
its buildings (nearest first), except in a few "lazy" micro-grids whose member walks only
the western half. The unstaffed micro-grid has nobody to walk it, and the building planted
outside every micro-grid belongs to no one's route. Which residential buildings no route line
passes within the visit distance is then measured (shapely; the question ``gis.patrols``
answers for recorded tracks) and recorded as ``unpatrolled`` defects, one per micro-grid. A
building within 0.5 m of the visit distance is made a target of the nearest route, so the key
has no borderline case.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely

from gis.demo.defects import Site
from gis.demo.model import Area, Building, Staff

#: Visit distance the key is measured with (gis.coverage.thresholds: patrol_visit_m).
VISIT_M: Final = 15.0
LAZY_MICRO_GRIDS: Final = 3
MEMBER_ROLES: Final = ("full_time_member", "part_time_member")


@dataclass
class Route:
    """One member's route through her micro-grid, in local metres."""

    micro_grid: str
    member_code: str
    member_name: str
    xy: list[tuple[float, float]]


def _order(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Greedy nearest-neighbour order from the westernmost point."""
    left = sorted(points)
    out = [left.pop(0)]
    while left:
        x, y = out[-1]
        k = min(range(len(left)), key=lambda i: (left[i][0] - x) ** 2 + (left[i][1] - y) ** 2)
        out.append(left.pop(k))
    if len(out) == 1:
        out.append((out[0][0] + 3.0, out[0][1]))
    return out


def _spot(b: Building) -> tuple[float, float]:
    p = b.geom.representative_point()
    return (round(p.x, 2), round(p.y, 2))


def plan_routes(
    areas: dict[str, Area],
    buildings: list[Building],
    staff: list[Staff],
    seed: int,
) -> tuple[list[Route], list[Site]]:
    """The routes and the ``unpatrolled`` sites (deterministic per ``seed``)."""
    rng = np.random.default_rng([seed, 27])
    members: dict[str, Staff] = {}
    for s in staff:
        if s.role in MEMBER_ROLES and s.area_code and s.area_code not in members:
            members[s.area_code] = s
    by_grid: dict[str, list[Building]] = defaultdict(list)
    for b in buildings:
        if not b.outside:
            by_grid[b.micro_grid].append(b)
    walked = sorted(g for g in by_grid if g in members)
    big = [g for g in walked if len(by_grid[g]) >= 6]
    lazy = {big[int(i)] for i in rng.choice(len(big), LAZY_MICRO_GRIDS, replace=False)}
    targets: dict[str, list[tuple[float, float]]] = {}
    for g in walked:
        spots = [_spot(b) for b in by_grid[g]]
        if g in lazy:
            middle = float(np.median([x for x, _ in spots]))
            spots = [p for p in spots if p[0] < middle]
        targets[g] = spots
    polys = np.array([b.geom for b in buildings], dtype=object)
    for _ in range(5):
        dist = _distances(targets, polys)
        borderline = np.flatnonzero(np.abs(dist - VISIT_M) <= 0.5)
        if not len(borderline):
            break
        for k in borderline.tolist():
            b = buildings[k]
            home = b.micro_grid if b.micro_grid in targets else _nearest(targets, b)
            targets[home].append(_spot(b))
    routes = [
        Route(g, members[g].code, members[g].name, _order(targets[g])) for g in sorted(targets)
    ]
    visited = _visited(polys, routes)
    never: dict[str, list[Building]] = defaultdict(list)
    for k, b in enumerate(buildings):
        if b.use == "residential" and k not in visited:
            never[b.micro_grid].append(b)
    sites = []
    for g in sorted(never):
        bs = sorted(never[g], key=lambda b: b.code)
        why = (
            "nobody is attached to it"
            if g not in members
            else "its member walks only the western half"
            if g in lazy
            else "outside every micro-grid, on nobody's route"
            if all(b.outside for b in bs)
            else "off its member's route"
        )
        c = shapely.union_all([b.geom for b in bs]).centroid
        sites.append(
            Site(
                "unpatrolled",
                f"{len(bs)} residential building(s) of {g} never visited by the month of demo "
                f"patrols ({why})",
                [g],
                bs,
                c.x,
                c.y,
            )
        )
    return routes, sites


def _nearest(targets: dict[str, list[tuple[float, float]]], b: Building) -> str:
    p = b.geom.representative_point()
    return min(
        targets,
        key=lambda g: min((x - p.x) ** 2 + (y - p.y) ** 2 for x, y in targets[g]),
    )


def _distances(targets: dict[str, list[tuple[float, float]]], polys: np.ndarray) -> np.ndarray:
    lines = [shapely.LineString(_order(list(t))) for t in targets.values() if t]
    tree = shapely.STRtree(lines)
    near = tree.query_nearest(polys, return_distance=True, all_matches=False)
    out = np.full(len(polys), np.inf)
    out[near[0][0]] = near[1]
    return out


def _visited(polys: np.ndarray, routes: list[Route]) -> set[int]:
    """Buildings within the visit distance of a route line (shapely, in metres): the same
    question ``gis.patrols.visits`` answers for recorded tracks."""
    lines = [shapely.LineString(r.xy) for r in routes]
    _, hit = shapely.STRtree(polys).query(lines, predicate="dwithin", distance=VISIT_M)
    return set(hit.tolist())
