"""Communities, grids and micro-grids of the demo street, cut from its parcels.

Communities are groups of whole parcels (city blocks between roads); grids are groups of
parcels, or parcels cut by straight internal lanes; micro-grids subdivide each grid along
straight cuts in the grid's own orientation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon
from shapely.ops import split

from gis.demo.geom import (
    GRID,
    Areal,
    cut,
    frame_extent,
    orientation,
    partition,
    polygons_of,
    union,
)
from gis.demo.names import COMMUNITY_NAMES, STREET_CODE, STREET_NAME
from gis.demo.street import StreetPlan

N_COMMUNITIES: Final = 14
N_GRIDS: Final = 41
N_MICRO_GRIDS: Final = 306


@dataclass
class Draft:
    """An area under construction: level, code, name, parent code, geometry, orientation."""

    level: str
    code: str
    name: str
    parent: str | None
    geom: Areal
    theta: float


Adjacency = list[dict[int, float]]


def _adjacency(
    parts: Sequence[Areal], barriers: Sequence[LineString] = ()
) -> tuple[Adjacency, Adjacency]:
    """Shared boundary length between touching parts (pairs sharing > 5 m).

    Returns (all pairs, pairs whose shared boundary does not run along a ``barrier``).
    """
    tree = shapely.STRtree(list(parts))
    adj: Adjacency = [{} for _ in parts]
    open_adj: Adjacency = [{} for _ in parts]
    for i, p in enumerate(parts):
        for j in sorted(int(k) for k in tree.query(p)):
            if j <= i:
                continue
            common = shapely.intersection(p.boundary, parts[j].boundary, grid_size=GRID)
            shared = float(common.length)
            if shared <= 5.0:
                continue
            adj[i][j] = adj[j][i] = shared
            mid = shapely.line_interpolate_point(shapely.line_merge(common), 0.5, normalized=True)
            if all(float(b.distance(mid)) > 1.0 for b in barriers):
                open_adj[i][j] = open_adj[j][i] = shared
    return adj, open_adj


def _grow(
    parts: Sequence[Areal],
    tiers: Sequence[Adjacency],
    k: int,
    rng: np.random.Generator,
    tries: int = 12,
) -> list[list[int]]:
    """The most even of ``tries`` balanced growths from different seeds."""
    best: tuple[float, list[list[int]]] | None = None
    for t in range(tries):
        groups = _grow_once(parts, tiers, k, rng, spread=t == 0)
        sizes = [math.fsum(float(parts[i].area) for i in g) for g in groups]
        score = max(sizes) / max(min(sizes), 1.0)
        if best is None or score < best[0]:
            best = (score, groups)
    assert best is not None
    return best[1]


def _grow_once(
    parts: Sequence[Areal],
    tiers: Sequence[Adjacency],
    k: int,
    rng: np.random.Generator,
    *,
    spread: bool,
) -> list[list[int]]:
    """Group ``parts`` into ``k`` contiguous groups of similar area by balanced growth.

    Growth follows the first adjacency tier (e.g. not across main roads) while it can, and
    falls back to the next tier only when no group can grow otherwise.
    """
    n = len(parts)
    cx = np.array([p.centroid.x for p in parts])
    cy = np.array([p.centroid.y for p in parts])
    if spread:  # farthest-point seeds
        seeds = [int(rng.integers(n))]
        while len(seeds) < k:
            d = np.min([np.hypot(cx - cx[s], cy - cy[s]) for s in seeds], axis=0)
            seeds.append(int(np.argmax(d)))
    else:
        seeds = [int(i) for i in rng.choice(n, k, replace=False)]
    owner = [-1] * n
    groups: list[list[int]] = []
    area: list[float] = []
    for g, s in enumerate(seeds):
        owner[s] = g
        groups.append([s])
        area.append(float(parts[s].area))
    while min(owner) < 0:
        best: tuple[int, int] | None = None
        for adj in tiers:
            for g in sorted(range(k), key=lambda g: (area[g], g)):
                frontier: dict[int, float] = {}
                for i in groups[g]:
                    for j, length in adj[i].items():
                        if owner[j] < 0:
                            frontier[j] = frontier.get(j, 0.0) + length
                if frontier:
                    best = (g, max(sorted(frontier), key=lambda j: frontier[j]))
                    break
            if best is not None:
                break
        if best is None:
            raise RuntimeError("parts are not connected")
        g, j = best
        owner[j] = g
        groups[g].append(j)
        area[g] += float(parts[j].area)
    _balance(parts, tiers[0], tiers[-1], owner, k)
    area = [math.fsum(float(parts[i].area) for i in range(n) if owner[i] == g) for g in range(k)]
    if max(area) > 2.5 * min(area):
        _balance(parts, tiers[-1], tiers[-1], owner, k)
    return [sorted(i for i in range(n) if owner[i] == g) for g in range(k)]


def _connected(members: list[int], adj: Adjacency) -> bool:
    if not members:
        return False
    todo, seen = [members[0]], {members[0]}
    inside = set(members)
    while todo:
        i = todo.pop()
        for j in adj[i]:
            if j in inside and j not in seen:
                seen.add(j)
                todo.append(j)
    return len(seen) == len(members)


def _balance(
    parts: Sequence[Areal], moves: Adjacency, adj: Adjacency, owner: list[int], k: int
) -> None:
    """Move boundary parts between neighbouring groups while that evens out their areas.

    A part may move across the edges of ``moves``; groups stay connected under ``adj``.
    """
    sizes = [float(p.area) for p in parts]
    for _ in range(200):
        area = [0.0] * k
        for i, g in enumerate(owner):
            area[g] += sizes[i]
        best: tuple[float, int, int] | None = None
        for i in range(len(parts)):
            src = owner[i]
            for dst in sorted({owner[j] for j in moves[i] if owner[j] != src}):
                before = max(area[src], area[dst])
                after = max(area[src] - sizes[i], area[dst] + sizes[i])
                gain = before - after
                if gain > 1.0 and (best is None or gain > best[0]):
                    rest = [m for m in range(len(parts)) if owner[m] == src and m != i]
                    if _connected(rest, adj):
                        best = (gain, i, dst)
        if best is None:
            return
        owner[best[1]] = best[2]


def _communities(
    parcels: list[Polygon], outline: Polygon, rail: LineString, rng: np.random.Generator
) -> list[list[int]]:
    """Communities as parcel groups that do not cross the railway: each side of it gets a
    share of the communities in proportion to its area."""
    sides = sorted(polygons_of(split(outline, rail)), key=lambda p: (-float(p.area), p.bounds))
    member: list[list[int]] = [[] for _ in sides]
    for i, p in enumerate(parcels):
        member[
            max(range(len(sides)), key=lambda s: (float(p.intersection(sides[s]).area), -s))
        ].append(i)
    member = [m for m in member if m]
    areas = [math.fsum(float(parcels[i].area) for i in m) for m in member]
    counts = _allocate(areas, N_COMMUNITIES, 1)
    groups: list[list[int]] = []
    for side, k in zip(member, counts, strict=True):
        parts = [parcels[i] for i in side]
        adj, no_rail = _adjacency(parts, [rail])
        for grp in _grow(parts, [no_rail, adj], k, rng):
            groups.append([side[i] for i in grp])
    return groups


def _allocate(weights: Sequence[float], total: int, minimum: int) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    raw = w / w.sum() * (total - minimum * len(w))
    base = np.floor(raw).astype(int)
    rest = total - minimum * len(w) - int(base.sum())
    order = sorted(range(len(w)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[:rest]:
        base[i] += 1
    return [int(b) + minimum for b in base]


def _sort_key(geom: Areal) -> tuple[int, float]:
    c = geom.centroid
    return (-round(c.y / 500.0), float(c.x))


def plan_hierarchy(plan: StreetPlan, rng: np.random.Generator) -> list[Draft]:
    """Street, communities, grids and micro-grids (float geometry, before noding)."""
    parcels = list(plan.parcels)
    rail = next(r.line for r in plan.roads if r.kind == "railway")
    main = [r.line for r in plan.roads if r.kind != "secondary"]
    groups = _communities(parcels, plan.outline, rail, rng)
    comm_geoms = [union([parcels[i] for i in g]) for g in groups]
    order = sorted(range(len(groups)), key=lambda g: _sort_key(comm_geoms[g]))
    drafts = [Draft("street", STREET_CODE, STREET_NAME, None, plan.outline, plan.theta)]
    comm_areas = [float(comm_geoms[g].area) for g in order]
    n_grids = _allocate(comm_areas, N_GRIDS, 2)
    grid_drafts: list[Draft] = []
    grid_no = 0
    for rank, g in enumerate(order):
        ccode = f"{STREET_CODE}{rank + 1:03d}"
        cname = COMMUNITY_NAMES[rank]
        cgeom = comm_geoms[g]
        if not isinstance(cgeom, Polygon) or cgeom.interiors:
            raise RuntimeError(f"community {ccode} is not a simple polygon")
        drafts.append(Draft("community", ccode, cname, STREET_CODE, cgeom, orientation(cgeom)))
        grids = _grids_of([parcels[i] for i in groups[g]], n_grids[rank], main, rng)
        grids.sort(key=_sort_key)
        for k, ggeom in enumerate(grids):
            grid_no += 1
            gcode = f"{ccode}-G{k + 1:02d}"
            gd = Draft("grid", gcode, f"第{grid_no}网格", ccode, ggeom, orientation(ggeom))
            grid_drafts.append(gd)
            drafts.append(gd)
    n_mgs = _allocate([float(g.geom.area) for g in grid_drafts], N_MICRO_GRIDS, 3)
    for gd, n in zip(grid_drafts, n_mgs, strict=True):
        for m, mgeom in enumerate(partition(gd.geom, n, gd.theta, rng, jitter=0.18)):
            drafts.append(
                Draft("micro_grid", f"{gd.code}-M{m + 1:02d}", "", gd.code, mgeom, gd.theta)
            )
    return drafts


def _grids_of(
    parcels: list[Polygon], k: int, barriers: Sequence[LineString], rng: np.random.Generator
) -> list[Areal]:
    """``k`` grids from a community's parcels: grouped whole, or cut by straight lanes.

    Parcels much larger than a grid's share are first cut in two by a straight internal
    lane; the pieces are then grown into ``k`` contiguous groups.
    """
    parts: list[Areal] = list(parcels)
    target = math.fsum(float(p.area) for p in parts) / k
    while True:
        i = max(range(len(parts)), key=lambda i: (float(parts[i].area), -i))
        if parts[i].area <= 1.3 * target and len(parts) >= k:
            break
        big = parts.pop(i)
        theta = orientation(big)
        w, h = frame_extent(big, theta)
        low, high = cut(big, theta, 0 if w >= h else 1, 0.5 + float(rng.uniform(-0.08, 0.08)))
        parts[i:i] = [low, high]
    adj, open_adj = _adjacency(parts, barriers)
    groups = _grow(parts, [open_adj, adj], k, rng)
    return [union([parts[i] for i in grp]) for grp in groups]
