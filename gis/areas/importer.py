"""Writing a validated boundary file into the open generation, all or nothing.

An import of level L states the complete set of L areas for the new generation:
areas whose code, name, parent, attributes and geometry are unchanged are carried over
(their row simply stays valid), changed ones get a new row, ones absent from the file end
with this generation. Importing the same level twice into one open generation replaces the
first attempt. Nothing is written until every check has passed; ``dry_run`` writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import Range

from gis.areas.generations import lock_for_import, next_generation_number, open_generation
from gis.areas.reading import AreaFeature, AreaFile
from gis.levels import check_level, depth
from gis.store.models import AREA_PARTS as PARTS
from gis.store.models import AREAS, STAFF
from gis.vector import FileRejected, Problem, Repair, preview

#: Vertices per piece in area_parts: small enough for fast point tests, few enough rows.
SUBDIVIDE_VERTICES = 128


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    file: str
    level: str
    generation: int
    dry_run: bool
    activated: bool = False
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    crs: str = "wgs84"

    @property
    def total(self) -> int:
        return len(self.added) + len(self.changed) + len(self.unchanged)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (codes listed, repairs as text)."""
        return {
            "file": self.file,
            "level": self.level,
            "generation": self.generation,
            "dry_run": self.dry_run,
            "activated": self.activated,
            "crs": self.crs,
            "added": self.added,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "repairs": [str(r) for r in self.repairs],
            "warnings": self.warnings,
        }


def _in_generation(generation: int) -> Any:
    return AREAS.c.valid.contains(generation)


def _visible_levels(conn: Connection, generation: int) -> dict[str, str]:
    """code -> level of every area visible in ``generation``."""
    rows = conn.execute(select(AREAS.c.code, AREAS.c.level).where(_in_generation(generation)))
    return {r.code: r.level for r in rows}


def _baseline(conn: Connection, level: str, generation: int) -> dict[str, Any]:
    """Rows of ``level`` as they stood before the open generation (what carry-over compares)."""
    if generation <= 1:
        return {}
    rows = conn.execute(
        select(
            AREAS.c.id,
            AREAS.c.code,
            AREAS.c.name,
            AREAS.c.parent_code,
            AREAS.c.attributes,
            func.ST_AsBinary(AREAS.c.geom).label("wkb"),
        ).where(AREAS.c.level == level, _in_generation(generation - 1))
    )
    return {r.code: r for r in rows}


def _same(feature: AreaFeature, row: Any) -> bool:
    return (
        feature.name == row.name
        and feature.parent_code == row.parent_code
        and feature.attributes == row.attributes
        and bool(shapely.equals_exact(feature.geom, shapely.from_wkb(bytes(row.wkb)), 0.0))
    )


def _check_hierarchy(conn: Connection, source: AreaFile, level: str, generation: int) -> None:
    """Parents must exist in the generation at a shallower level; codes must not clash with
    areas of other levels."""
    visible = _visible_levels(conn, generation)
    problems: list[Problem] = []
    for f in source.features:
        other = visible.get(f.code)
        if other is not None and other != level:
            problems.append(
                Problem(
                    f.index,
                    "code",
                    f"code already used by a {other} area in generation {generation}",
                    f.code,
                )
            )
        if f.parent_code is None:
            continue
        parent_level = visible.get(f.parent_code)
        if parent_level is None:
            problems.append(
                Problem(
                    f.index,
                    "parent",
                    f"unknown parent {f.parent_code!r}: no "
                    f"area with that code in generation {generation}",
                    f.code,
                )
            )
        elif depth(parent_level) >= depth(level):
            problems.append(
                Problem(
                    f.index,
                    "parent",
                    f"parent {f.parent_code!r} is a {parent_level}, which is not above {level}",
                    f.code,
                )
            )
    if problems:
        raise FileRejected(source.path, problems)


def _orphan_warnings(
    conn: Connection, removed: list[str], level: str, generation: int
) -> list[str]:
    """Warn about areas of other levels whose parent this import ends, and staff who answer
    for an ended area (both would point at an area missing from the new generation)."""
    if not removed:
        return []
    rows = conn.execute(
        select(AREAS.c.code, AREAS.c.parent_code)
        .where(
            AREAS.c.parent_code.in_(removed),
            AREAS.c.level != level,
            AREAS.c.valid.contains(generation),
        )
        .order_by(AREAS.c.code)
    ).all()
    warnings = []
    if rows:
        listed = preview([f"{r.code} (parent {r.parent_code})" for r in rows])
        warnings.append(
            f"{len(rows)} area(s) of other levels have a parent this import removes; re-import "
            f"them before activating: {listed}"
        )
    staff = conn.execute(
        select(STAFF.c.code, STAFF.c.area_code)
        .where(STAFF.c.area_code.in_(removed))
        .order_by(STAFF.c.code)
    ).all()
    if staff:
        listed = preview([f"{r.code} ({r.area_code})" for r in staff])
        warnings.append(
            f"{len(staff)} staff member(s) answer for an area this import removes; update the "
            f"roster: {listed}"
        )
    return warnings


def import_areas(
    conn: Connection,
    source: AreaFile,
    *,
    level: str,
    description: str = "",
    activate: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import ``source`` as the complete set of ``level`` areas of the open generation.

    Runs inside the caller's transaction on ``conn``; on any error nothing has been written.
    """
    check_level(level)
    if dry_run:
        generation = open_generation(conn) or next_generation_number(conn)
    else:
        generation = lock_for_import(conn, description)
    _check_hierarchy(conn, source, level, generation)
    baseline = _baseline(conn, level, generation)
    report = ImportReport(
        file=str(source.path),
        level=level,
        generation=generation,
        dry_run=dry_run,
        repairs=source.repairs,
        crs=source.crs,
        warnings=source.warnings,
    )
    new: list[AreaFeature] = []
    closing: list[int] = []
    for f in source.features:
        row = baseline.get(f.code)
        if row is None:
            report.added.append(f.code)
            new.append(f)
        elif _same(f, row):
            report.unchanged.append(f.code)
        else:
            report.changed.append(f.code)
            closing.append(row.id)
            new.append(f)
    incoming = {f.code for f in source.features}
    for code, row in baseline.items():
        if code not in incoming:
            report.removed.append(code)
            closing.append(row.id)
    report.removed.sort()
    report.warnings.extend(_orphan_warnings(conn, report.removed, level, generation))
    if dry_run:
        return report
    _reset_level(conn, level, generation)
    if closing:
        conn.execute(
            update(AREAS)
            .where(AREAS.c.id.in_(closing))
            .values(valid=func.int4range(func.lower(AREAS.c.valid), generation))
        )
    _insert(conn, new, level, generation)
    if activate:
        from gis.areas.generations import activate as activate_generation

        activate_generation(conn)
        report.activated = True
    return report


def _reset_level(conn: Connection, level: str, generation: int) -> None:
    """Undo an earlier import of ``level`` into the same open generation."""
    conn.execute(
        delete(AREAS).where(AREAS.c.level == level, func.lower(AREAS.c.valid) == generation)
    )
    conn.execute(
        update(AREAS)
        .where(AREAS.c.level == level, func.upper(AREAS.c.valid) == generation)
        .values(valid=func.int4range(func.lower(AREAS.c.valid), None))
    )


def _insert(conn: Connection, features: list[AreaFeature], level: str, generation: int) -> None:
    if not features:
        return
    rows = [
        {
            "code": f.code,
            "name": f.name,
            "level": level,
            "parent_code": f.parent_code,
            "geom": from_shape(f.geom, srid=4326),
            "area_m2": f.area_m2,
            "attributes": f.attributes,
            "valid": Range(generation, None),
        }
        for f in features
    ]
    ids = list(conn.execute(insert(AREAS).returning(AREAS.c.id), rows).scalars())
    conn.execute(
        insert(PARTS).from_select(
            ["area_id", "geom"],
            select(AREAS.c.id, func.ST_Subdivide(AREAS.c.geom, SUBDIVIDE_VERTICES)).where(
                AREAS.c.id.in_(ids)
            ),
        )
    )
    conn.execute(text("ANALYZE area_parts"))
