"""The staff roster and the service facilities of the demo street.

Every micro-grid has a leader (micro_grid_leader) and a full-time grid member, many have
part-time members; residential buildings have a building team leader ("floor chief"); the
street and a few grids have liaisons from functional departments (fire safety, housing,
police). Facilities are points of the 15-minute community life circle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import shapely
from shapely.geometry import Point

from gis.demo.geom import Areal
from gis.demo.model import Area, Building, Facility, Staff
from gis.demo.names import (
    COMPOUND_STEMS,
    STREET_CODE,
    unique_person_name,
    unique_phone,
)

#: Grids that get a community police officer / housing / fire-safety liaison.
GRID_LIAISONS: Final = 6


def roster(
    areas: dict[str, Area],
    buildings: Sequence[Building],
    unstaffed: str,
    no_leader: Sequence[Building],
    rng: np.random.Generator,
) -> list[Staff]:
    """Staff rows in a fixed order; codes S00001… follow that order."""
    names: set[str] = set()
    phones: set[str] = set()
    rows: list[tuple[str, str | None, str | None]] = []  # role, area, building
    rows += [("department_liaison", STREET_CODE, None)] * 3  # fire safety, housing, police
    grids = [a.code for a in areas.values() if a.level == "grid"]
    for i in sorted(int(i) for i in rng.choice(len(grids), GRID_LIAISONS, replace=False)):
        rows.append(("department_liaison", grids[i], None))
    for mg in (a for a in areas.values() if a.level == "micro_grid"):
        if mg.code == unstaffed:
            continue
        rows.append(("micro_grid_leader", mg.code, None))
        rows.append(("full_time_member", mg.code, None))
        for _ in range(int(rng.choice([0, 1, 1, 2]))):
            rows.append(("part_time_member", mg.code, None))
    skip = {id(b) for b in no_leader}
    for b in buildings:
        if b.use == "residential" and id(b) not in skip:
            rows.append(("building_team_leader", None, b.code))
    return [
        Staff(
            f"S{n:05d}",
            unique_person_name(rng, names),
            role,
            unique_phone(rng, phones),
            area,
            building,
        )
        for n, (role, area, building) in enumerate(rows, start=1)
    ]


def _spot(
    mg: Area,
    others: shapely.STRtree,
    mg_geoms: Sequence[Areal],
    built: shapely.STRtree,
    no_build: Areal,
    rng: np.random.Generator,
) -> Point:
    """A point inside ``mg`` only, off the roads and at least 4 m from any building."""
    minx, miny, maxx, maxy = mg.geom.bounds
    for _ in range(400):
        pt = Point(
            round(float(rng.uniform(minx, maxx)), 3), round(float(rng.uniform(miny, maxy)), 3)
        )
        if not mg.geom.contains(pt) or no_build.contains(pt):
            continue
        if len(others.query(pt, predicate="within")) != 1:
            continue
        if len(built.query(pt.buffer(4.0), predicate="intersects")):
            continue
        return pt
    raise RuntimeError(f"no free spot for a facility in {mg.code}")


def facilities(
    areas: dict[str, Area],
    buildings: Sequence[Building],
    no_build: Areal,
    roads: Sequence[str],
    rng: np.random.Generator,
) -> list[Facility]:
    """About 60 facilities: per community an elderly-care centre and a party-mass service
    station, and street-wide clinics, schools, kindergartens, markets, police, fire, parks."""
    mgs = [a for a in areas.values() if a.level == "micro_grid"]
    communities = [a for a in areas.values() if a.level == "community"]
    mg_geoms = [m.geom for m in mgs]
    others = shapely.STRtree(mg_geoms)
    built = shapely.STRtree([b.geom for b in buildings])
    stems = [COMPOUND_STEMS[int(i)] for i in rng.permutation(len(COMPOUND_STEMS))]
    plan: list[tuple[str, str, str | None]] = []  # kind, name, community code or None
    for c in communities:
        short = c.name.removesuffix("居民区")
        plan.append(("elderly_care", f"{short}综合为老服务中心", c.code))
        plan.append(("community_centre", f"{short}居民区党群服务站", c.code))
    plan.append(("clinic", "真如镇街道社区卫生服务中心", None))
    for c in sorted(rng.choice(len(communities), 5, replace=False)):
        plan.append(
            ("clinic", f"{communities[int(c)].name.removesuffix('居民区')}卫生服务站", None)
        )
    school_kinds = ("小学", "小学", "中学", "学校", "小学", "中学")
    plan += [("school", f"{stems[i]}{k}", None) for i, k in enumerate(school_kinds)]
    plan += [("kindergarten", f"{stems[6 + i]}幼儿园", None) for i in range(8)]
    market_roads = [roads[int(i)] for i in rng.choice(len(roads), 6, replace=False)]
    plan += [("market", f"{r}菜市场", None) for r in market_roads]
    plan.append(("police", "真如镇派出所", None))
    plan.append(("police", f"{market_roads[0]}警务站", None))
    plan.append(("fire_station", "真如消防救援站", None))
    plan += [("park", "真如公园", None), ("park", f"{stems[14]}公园", None)]
    plan.append(("park", f"{stems[15]}绿地", None))
    out: list[Facility] = []
    for n, (kind, name, community) in enumerate(plan, start=1):
        pool = [m for m in mgs if community is None or m.code.startswith(community)]
        mg = pool[int(rng.integers(len(pool)))]
        pt = _spot(mg, others, mg_geoms, built, no_build, rng)
        out.append(Facility(f"F{n:03d}", kind, name, pt, mg.code))
    return out
