"""Buildings, staff and facilities: registers keyed by ``code``, imported all or nothing.

An import upserts by code: new codes are added, rows whose values differ are updated, the
rest are left unchanged; rows absent from the file are kept unless ``replace`` is given, in
which case they are removed (and reported). Everything is validated before anything is
written, and ``dry_run`` writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import Connection, Table, delete, func, insert, select, update

from gis.areas.generations import current_generation, open_generation
from gis.errors import InvalidInput
from gis.levels import FACILITY_KINDS, STAFF_ROLES
from gis.store.models import AREAS, BUILDINGS, FACILITIES, STAFF
from gis.vector import (
    POLYGONAL,
    FileRejected,
    Problem,
    Repair,
    attribute_records,
    check_geometry_kind,
    plain,
    polygonal_geometries,
    read_codes,
    read_vector,
    text_value,
)


@dataclass
class RegisterReport:
    """What a register import did (or would do)."""

    kind: str
    file: str
    dry_run: bool
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "dry_run": self.dry_run,
            "added": self.added,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "repairs": [str(r) for r in self.repairs],
        }


def _required_text(
    data: Any, column: str, codes: list[str | None], problems: list[Problem]
) -> list[str | None]:
    values = [text_value(v) for v in data[column]]
    for i, value in enumerate(values):
        if value is None:
            problems.append(Problem(i, column, f"missing {column}", codes[i]))
    return values


def _optional_text(data: Any, column: str) -> list[str]:
    """A text column that may be absent or blank ('' then)."""
    if column not in data:
        return [""] * len(data)
    return [text_value(v) or "" for v in data[column]]


def _count(data: Any, column: str, codes: list[str | None], problems: list[Problem]) -> list[int]:
    """A non-negative whole-number column (missing counts as 0)."""
    out: list[int] = []
    for i, raw in enumerate(data[column] if column in data else [None] * len(data)):
        value = plain(raw)
        if value is None or value == "":
            out.append(0)
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if number < 0 or not number.is_integer():
            problems.append(Problem(i, column, f"{value!r} is not a whole number ≥ 0", codes[i]))
            out.append(0)
        else:
            out.append(int(number))
    return out


def _reject_missing_columns(path: Path, data: Any, columns: list[str]) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise InvalidInput(
            f"{path}: missing column(s) {', '.join(missing)}; columns are: "
            f"{', '.join(map(str, data.columns))}",
            field=missing[0],
        )


def _upsert(
    conn: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    report: RegisterReport,
    *,
    replace: bool,
    compare: list[str],
    check_removal: Callable[[list[str]], None] | None = None,
) -> None:
    """Diff ``rows`` against ``table`` by code, fill ``report``; write unless a dry run.
    ``check_removal`` may refuse the codes ``replace`` would remove (before any write)."""
    existing = {r.code: r for r in conn.execute(select(table))}
    incoming = {r["code"] for r in rows}
    to_insert, to_update = [], []
    for row in rows:
        old = existing.get(row["code"])
        if old is None:
            report.added.append(row["code"])
            to_insert.append(row)
        elif any(_differs(getattr(old, c), row[c]) for c in compare):
            report.changed.append(row["code"])
            to_update.append(row)
        else:
            report.unchanged.append(row["code"])
    if replace:
        report.removed = sorted(c for c in existing if c not in incoming)
    if report.removed and check_removal is not None:
        check_removal(report.removed)
    if report.dry_run:
        return
    if report.removed:
        conn.execute(delete(table).where(table.c.code.in_(report.removed)))
    if to_insert:
        conn.execute(insert(table), to_insert)
    for row in to_update:
        conn.execute(update(table).where(table.c.code == row["code"]).values(**row))


def _differs(old: Any, new: Any) -> bool:
    if hasattr(new, "desc") and hasattr(new, "srid"):  # a WKBElement: compare shapes exactly
        from geoalchemy2.shape import to_shape

        return not bool(shapely.equals_exact(to_shape(old), to_shape(new), 0.0))
    return bool(old != new)


def import_buildings(
    conn: Connection,
    path: Path,
    *,
    crs: str | None = None,
    code_field: str = "code",
    replace: bool = False,
    dry_run: bool = False,
) -> RegisterReport:
    """Import building footprints (polygons) with name, address, households, residents."""
    frame = read_vector(path, crs=crs)
    data = frame.data
    _reject_missing_columns(path, data, [code_field])
    check_geometry_kind(frame, POLYGONAL, "buildings")
    problems = list(frame.problems)
    codes = read_codes(data, code_field, problems)
    households = _count(data, "households", codes, problems)
    residents = _count(data, "residents", codes, problems)
    geoms, repairs = polygonal_geometries(frame, codes, problems)
    if problems:
        raise FileRejected(path, problems)
    skip = {code_field, "name", "address", "households", "residents", data.geometry.name}
    extras = attribute_records(data, skip)
    names = _optional_text(data, "name")
    addresses = _optional_text(data, "address")
    rows = [
        {
            "code": codes[i],
            "name": names[i],
            "address": addresses[i],
            "households": households[i],
            "residents": residents[i],
            "geom": from_shape(geoms[i], srid=4326),
            "attributes": extras[i],
        }
        for i in range(len(data))
    ]
    report = RegisterReport("buildings", str(path), dry_run, repairs=repairs)
    _upsert(
        conn,
        BUILDINGS,
        rows,
        report,
        replace=replace,
        compare=["name", "address", "households", "residents", "geom", "attributes"],
        check_removal=lambda removed: _refuse_removing_staffed_buildings(conn, path, removed),
    )
    return report


def _refuse_removing_staffed_buildings(conn: Connection, path: Path, removed: list[str]) -> None:
    """``--replace`` may not remove a building that staff still answer for: name both."""
    rows = conn.execute(
        select(STAFF.c.building_code, STAFF.c.code, STAFF.c.name)
        .where(STAFF.c.building_code.in_(removed))
        .order_by(STAFF.c.building_code, STAFF.c.code)
    ).all()
    if not rows:
        return
    by_building: dict[str, list[str]] = {}
    for building, code, name in rows:
        by_building.setdefault(building, []).append(f"{code} {name}")
    listed = "; ".join(f"{b} (staff {', '.join(s)})" for b, s in by_building.items())
    raise InvalidInput(
        f"{path}: --replace would remove {len(by_building)} building(s) that staff still "
        f"answer for: {listed}. Keep them in the file, or first import a staff register "
        "that moves those people",
        field="code",
        buildings=sorted(by_building),
    )


def import_facilities(
    conn: Connection,
    path: Path,
    *,
    crs: str | None = None,
    replace: bool = False,
    dry_run: bool = False,
) -> RegisterReport:
    """Import service facilities (points) with code, kind and name."""
    frame = read_vector(path, crs=crs)
    data = frame.data
    _reject_missing_columns(path, data, ["code", "kind", "name"])
    check_geometry_kind(frame, ("Point",), "facilities")
    problems = list(frame.problems)
    codes = read_codes(data, "code", problems)
    names = _required_text(data, "name", codes, problems)
    kinds = _required_text(data, "kind", codes, problems)
    for i, kind in enumerate(kinds):
        if kind is not None and kind not in FACILITY_KINDS:
            problems.append(
                Problem(
                    i,
                    "kind",
                    f"unknown kind {kind!r}; expected one of {', '.join(FACILITY_KINDS)}",
                    codes[i],
                )
            )
    for i, geom in enumerate(data.geometry.values):
        if geom is None or geom.is_empty or geom.geom_type != "Point":
            problems.append(Problem(i, "geometry", "a facility needs a point", codes[i]))
    if problems:
        raise FileRejected(path, problems)
    skip = {"code", "kind", "name", data.geometry.name}
    extras = attribute_records(data, skip)
    rows = [
        {
            "code": codes[i],
            "kind": kinds[i],
            "name": names[i],
            "geom": from_shape(data.geometry.values[i], srid=4326),
            "attributes": extras[i],
        }
        for i in range(len(data))
    ]
    report = RegisterReport("facilities", str(path), dry_run)
    _upsert(
        conn,
        FACILITIES,
        rows,
        report,
        replace=replace,
        compare=["kind", "name", "geom", "attributes"],
    )
    return report


def _known_area_codes(conn: Connection) -> set[str]:
    """Codes of areas in the open generation if there is one, else in the current one."""
    generation = open_generation(conn) or current_generation(conn)
    if generation is None:
        return set()
    rows = conn.execute(select(AREAS.c.code).where(AREAS.c.valid.contains(generation)))
    return set(rows.scalars())


def import_staff(
    conn: Connection, path: Path, *, replace: bool = False, dry_run: bool = False
) -> RegisterReport:
    """Import a staff roster (CSV: code,name,role,phone,area_code,building_code)."""
    frame = read_vector(path, geometry=False)
    data = frame.data
    _reject_missing_columns(path, data, ["code", "name", "role", "area_code", "building_code"])
    if len(data) == 0:
        raise InvalidInput(f"{path}: the file has no rows", field="file")
    problems: list[Problem] = []
    codes = read_codes(data, "code", problems)
    names = _required_text(data, "name", codes, problems)
    roles = _required_text(data, "role", codes, problems)
    areas = [text_value(v) for v in data["area_code"]]
    buildings = [text_value(v) for v in data["building_code"]]
    phones = _optional_text(data, "phone")
    known_areas = _known_area_codes(conn)
    known_buildings = set(conn.execute(select(BUILDINGS.c.code)).scalars())
    for i in range(len(data)):
        if roles[i] is not None and roles[i] not in STAFF_ROLES:
            problems.append(
                Problem(
                    i,
                    "role",
                    f"unknown role {roles[i]!r}; expected one of {', '.join(STAFF_ROLES)}",
                    codes[i],
                )
            )
        if (areas[i] is None) == (buildings[i] is None):
            problems.append(
                Problem(i, "area_code", "give exactly one of area_code and building_code", codes[i])
            )
        elif areas[i] is not None and areas[i] not in known_areas:
            problems.append(Problem(i, "area_code", f"unknown area {areas[i]!r}", codes[i]))
        elif buildings[i] is not None and buildings[i] not in known_buildings:
            problems.append(
                Problem(i, "building_code", f"unknown building {buildings[i]!r}", codes[i])
            )
    if problems:
        raise FileRejected(path, problems)
    skip = {"code", "name", "role", "phone", "area_code", "building_code"}
    extras = attribute_records(data, skip)
    rows = [
        {
            "code": codes[i],
            "name": names[i],
            "role": roles[i],
            "phone": phones[i],
            "area_code": areas[i],
            "building_code": buildings[i],
            "attributes": extras[i],
        }
        for i in range(len(data))
    ]
    report = RegisterReport("staff", str(path), dry_run)
    _upsert(
        conn,
        STAFF,
        rows,
        report,
        replace=replace,
        compare=["name", "role", "phone", "area_code", "building_code", "attributes"],
    )
    return report


def count_rows(conn: Connection) -> dict[str, int]:
    """Row counts of the registers (for status output)."""
    return {
        name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for name, t in (("buildings", BUILDINGS), ("staff", STAFF), ("facilities", FACILITIES))
    }
