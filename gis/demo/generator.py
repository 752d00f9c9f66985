"""``generate``: build the demo street and write its files (the public entry point)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np

from gis.demo import docs
from gis.demo.addresses import finish
from gis.demo.defects import Site, finalize, pick_no_leader, pick_unstaffed, plant_geometry
from gis.demo.estate import build_estate
from gis.demo.hierarchy import plan_hierarchy
from gis.demo.model import Area, Building, Defect, Facility, Staff
from gis.demo.output import (
    Projector,
    feature,
    write_collection,
    write_csv,
    write_json,
    write_text,
)
from gis.demo.patrol_plan import Route, plan_routes
from gis.demo.people import facilities as make_facilities
from gis.demo.people import roster
from gis.demo.street import plan_street

#: Communities that also get blocks and corridors (indices into the coded communities).
BLOCKED_COMMUNITIES: Final = 2

AREA_FILES: Final[tuple[tuple[str, str], ...]] = (
    ("street", "street.geojson"),
    ("community", "communities.geojson"),
    ("grid", "grids.geojson"),
    ("micro_grid", "micro_grids.geojson"),
    ("block", "blocks.geojson"),
    ("corridor", "corridors.geojson"),
)
STAFF_HEADER: Final = ("code", "name", "role", "phone", "area_code", "building_code")


@dataclass(frozen=True)
class DemoSummary:
    """What ``generate`` wrote: counts per level and of everything else, and the files."""

    seed: int
    streets: int
    communities: int
    grids: int
    micro_grids: int
    blocks: int
    corridors: int
    buildings: int
    households: int
    residents: int
    staff: int
    facilities: int
    defects: int
    files: tuple[Path, ...]

    def level_counts(self) -> dict[str, int]:
        """Number of areas per level, largest level first."""
        return {
            "street": self.streets,
            "community": self.communities,
            "grid": self.grids,
            "micro_grid": self.micro_grids,
            "block": self.blocks,
            "corridor": self.corridors,
        }


@dataclass
class Demo:
    """The generated street in local metres, before it is written."""

    seed: int
    areas: dict[str, Area]
    buildings: list[Building]
    staff: list[Staff]
    facilities: list[Facility]
    defects: list[Defect]
    routes: list[Route] = field(default_factory=list)  # patrols (issue 27)


def build(seed: int = 2024) -> Demo:
    """Build the whole demo street in memory (deterministic for a given ``seed``)."""
    rng = np.random.default_rng(seed)
    plan = plan_street(rng)
    drafts = plan_hierarchy(plan, rng)
    communities = [d.code for d in drafts if d.level == "community"]
    picks = rng.choice(len(communities), BLOCKED_COMMUNITIES, replace=False)
    blocked = sorted(communities[int(i)] for i in picks)
    areas, buildings = build_estate(plan, drafts, blocked, rng)
    sites = plant_geometry(areas, buildings, plan.no_build, blocked, rng)
    # planted buildings, and those cut into corridors, stay residential
    keep = [b for s in sites for b in s.buildings]
    keep += [b for b in buildings if b.micro_grid.split("-")[0] in blocked]
    finish(areas, buildings, plan.roads, keep, rng)
    unstaffed = pick_unstaffed(areas, sites, blocked, rng)
    no_leader = pick_no_leader(buildings, sites, unstaffed, blocked, rng)
    staff = roster(areas, buildings, unstaffed, no_leader, rng)
    road_names = sorted(r.name for r in plan.roads if r.kind != "railway")
    facilities_ = make_facilities(areas, buildings, plan.no_build, road_names, rng)
    mg = areas[unstaffed]
    pt = mg.geom.representative_point()
    sites.append(
        Site(
            "unstaffed",
            f"micro-grid {unstaffed} ({mg.name}, {mg.props['households']} households) has no "
            "leader, no grid member, nobody attached at all",
            [unstaffed],
            [],
            pt.x,
            pt.y,
            staff_count=0,
        )
    )
    for b in no_leader:
        c = b.geom.centroid
        sites.append(
            Site(
                "no_building_leader",
                f"residential building {b.code} ({b.address}, {b.households} households) has "
                "no building team leader",
                [b.micro_grid],
                [b],
                c.x,
                c.y,
                staff_count=0,
            )
        )
    routes, unpatrolled = plan_routes(areas, buildings, staff, seed)
    sites.extend(unpatrolled)
    return Demo(seed, areas, buildings, staff, facilities_, finalize(sites), routes)


def generate(out_dir: Path, *, seed: int = 2024) -> DemoSummary:
    """Generate the demo street into ``out_dir`` (created if missing); byte-identical per seed."""
    demo = build(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    proj = Projector()
    files: list[Path] = []
    for level, name in AREA_FILES:
        feats = [
            feature(_area_props(a), proj.geometry(a.geom, multi=True))
            for a in demo.areas.values()
            if a.level == level
        ]
        files.append(write_collection(out_dir / name, feats))
    files.append(
        write_collection(
            out_dir / "buildings.geojson",
            (
                feature(_building_props(b), proj.geometry(b.geom, multi=False))
                for b in demo.buildings
            ),
        )
    )
    staff_rows = (
        (s.code, s.name, s.role, s.phone, s.area_code, s.building_code) for s in demo.staff
    )
    files.append(write_csv(out_dir / "staff.csv", STAFF_HEADER, staff_rows))
    files.append(
        write_collection(
            out_dir / "facilities.geojson",
            (
                feature(
                    {
                        "code": f.code,
                        "kind": f.kind,
                        "name": f.name,
                        "micro_grid_code": f.micro_grid,
                    },
                    proj.geometry(f.point, multi=False),
                )
                for f in demo.facilities
            ),
        )
    )
    files.append(
        write_collection(
            out_dir / "patrol_routes.geojson",
            (
                feature(
                    {"micro_grid": r.micro_grid, "member_code": r.member_code,
                     "member_name": r.member_name},
                    {"type": "LineString",
                     "coordinates": proj.lonlat(np.array(r.xy, dtype=float)).tolist()},
                )
                for r in demo.routes
            ),
        )
    )  # fmt: skip
    key = [_defect_record(d, proj) for d in demo.defects]
    files.append(write_json(out_dir / "defects.json", key))
    files.append(write_text(out_dir / "DEFECTS.md", docs.defects_md(key)))
    summary = _summary(demo, files)
    files.append(write_text(out_dir / "README.md", docs.readme(summary, demo)))
    return replace(summary, files=tuple(files))


def _summary(demo: Demo, files: list[Path]) -> DemoSummary:
    count: dict[str, int] = {}
    for a in demo.areas.values():
        count[a.level] = count.get(a.level, 0) + 1
    street = next(a for a in demo.areas.values() if a.level == "street")
    return DemoSummary(
        seed=demo.seed,
        streets=count.get("street", 0),
        communities=count.get("community", 0),
        grids=count.get("grid", 0),
        micro_grids=count.get("micro_grid", 0),
        blocks=count.get("block", 0),
        corridors=count.get("corridor", 0),
        buildings=len(demo.buildings),
        households=int(street.props["households"])
        + sum(b.households for b in demo.buildings if b.outside),
        residents=int(street.props["residents"])
        + sum(b.residents for b in demo.buildings if b.outside),
        staff=len(demo.staff),
        facilities=len(demo.facilities),
        defects=len(demo.defects),
        files=tuple(files),
    )


def _area_props(a: Area) -> dict[str, Any]:
    props: dict[str, Any] = {
        "code": a.code,
        "name": a.name,
        "level": a.level,
        "parent_code": a.parent,
        "area_m2": round(float(a.geom.area), 1),
    }
    keys = {
        "micro_grid": ("alias", "lane", "buildings", "households", "residents"),
        "block": ("buildings", "households", "residents"),
        "corridor": ("building_code", "households"),
    }.get(a.level, ("buildings", "households", "residents"))
    props.update({k: a.props[k] for k in keys})
    return props


def _building_props(b: Building) -> dict[str, Any]:
    return {
        "code": b.code,
        "name": b.name,
        "address": b.address,
        "use": b.use,
        "floors": b.floors,
        "households": b.households,
        "residents": b.residents,
    }


def _defect_record(d: Defect, proj: Projector) -> dict[str, Any]:
    lon, lat = proj.point(d.x, d.y)
    return {
        "code": d.code,
        "kind": d.kind,
        "description": d.description,
        "area_codes": d.area_codes,
        "building_codes": d.building_codes,
        "lon": lon,
        "lat": lat,
        "area_m2": d.area_m2,
        "width_m": d.width_m,
        "length_m": d.length_m,
        "share": d.share,
        "staff_count": d.staff_count,
    }
