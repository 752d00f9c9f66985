"""The ``addresses`` table: reading it for the matcher, and importing a gazetteer file.

An import is all or nothing: every feature is validated first (address present, code unique,
a point or polygon inside lon/lat bounds) and every problem is reported naming the file,
feature and field; only then is anything written, in the caller's transaction. Polygons are
stored as their representative point (``point_on_surface``). Rows are upserted by code;
``replace`` removes rows whose code is not in the file; ``dry_run`` writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import Connection, delete, func, select, update

from gis.errors import InvalidInput
from gis.geocode.gazetteer import Record
from gis.geocode.normalize import parse
from gis.registers import RegisterReport
from gis.store.models import ADDRESSES
from gis.vector import (
    FileRejected,
    Frame,
    Problem,
    attribute_records,
    preview,
    read_vector,
    require_columns,
    text_value,
)

COMPARED = ("address", "normalized", "district", "building_code", "attributes")


@dataclass
class AddressReport(RegisterReport):
    """What an address import did (or would do): a register report, plus how many polygons
    became points and warnings."""

    polygons: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "polygons_as_points": self.polygons, "warnings": self.warnings}


def read_records(conn: Connection) -> list[Record]:
    """Every standard address in the table, ordered by code."""
    rows = conn.execute(
        select(
            ADDRESSES.c.code,
            ADDRESSES.c.address,
            ADDRESSES.c.district,
            func.ST_X(ADDRESSES.c.geom).label("lon"),
            func.ST_Y(ADDRESSES.c.geom).label("lat"),
        ).order_by(ADDRESSES.c.code)
    )
    return [Record(r.code, r.address, float(r.lon), float(r.lat), r.district) for r in rows]


def _read(
    path: Path, crs: str | None, lon_field: str, lat_field: str
) -> tuple[Frame, list[shapely.Geometry | None]]:
    """The file and one geometry per row (points from lon/lat columns for a CSV)."""
    if path.suffix.lower() != ".csv":
        frame = read_vector(path, crs=crs)
        return frame, list(frame.data.geometry.values)
    from gis.crs import parse_crs, to_wgs84

    frame = read_vector(path, geometry=False)
    require_columns(frame, {"--lon-field": lon_field, "--lat-field": lat_field})
    lon = np.array([_float(v) for v in frame.data[lon_field]], np.float64)
    lat = np.array([_float(v) for v in frame.data[lat_field]], np.float64)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if crs and ok.any():
        lon[ok], lat[ok] = to_wgs84(lon=lon[ok], lat=lat[ok], crs=parse_crs(crs))
    geoms: list[shapely.Geometry | None] = [
        shapely.Point(x, y) if good else None
        for x, y, good in zip(lon.tolist(), lat.tolist(), ok.tolist(), strict=True)
    ]
    for i, (x, y, good) in enumerate(zip(lon.tolist(), lat.tolist(), ok.tolist(), strict=True)):
        if good and not (abs(x) <= 180 and abs(y) <= 90):
            frame.problems.append(Problem(i, lon_field, "outside lon -180..180 / lat -90..90"))
    return frame, geoms


def _float(value: Any) -> float:
    text = text_value(value)
    try:
        return float(text) if text is not None else float("nan")
    except ValueError:
        return float("nan")


def read_addresses(
    path: Path,
    *,
    address_field: str,
    district_field: str | None = None,
    building_field: str | None = None,
    code_field: str | None = None,
    crs: str | None = None,
    lon_field: str = "lon",
    lat_field: str = "lat",
) -> tuple[list[dict[str, Any]], int, list[str]]:
    """Validate a gazetteer file; the rows to store, how many were polygons, and the
    addresses without a road or place name (stored, but no query can reach them).

    Raises :class:`~gis.vector.FileRejected` listing every bad feature (nothing is written)."""
    frame, geoms = _read(path, crs, lon_field, lat_field)
    data = frame.data
    require_columns(
        frame,
        {
            "--address-field": address_field,
            "--district-field": district_field,
            "--building-field": building_field,
            "--code-field": code_field,
        },
    )
    if len(data) == 0:
        raise InvalidInput(f"{path}: the file has no features", field="file")
    problems = list(frame.problems)
    addresses = [text_value(v) for v in data[address_field]]
    districts = [text_value(v) for v in data[district_field]] if district_field else None
    buildings = [text_value(v) for v in data[building_field]] if building_field else None
    if code_field:
        codes = [text_value(v) for v in data[code_field]]
    else:  # the address (with its district) is the code: unique in a gazetteer
        codes = [
            None if a is None else (f"{districts[i]}/{a}" if districts and districts[i] else a)
            for i, a in enumerate(addresses)
        ]
    code_column = code_field or address_field
    parsed = [parse(a or "") for a in addresses]
    seen: dict[str, int] = {}
    nameless: list[str] = []
    points: list[shapely.Point | None] = []
    polygons = 0
    for i, geom in enumerate(geoms):
        code = codes[i]
        if addresses[i] is None:
            problems.append(Problem(i, address_field, "missing address", code))
        elif parsed[i].road is None:
            nameless.append(f"features[{i}] {addresses[i]!r}")
        if code is None:
            if code_field:
                problems.append(Problem(i, code_field, "missing code"))
        elif code in seen:
            problems.append(
                Problem(i, code_column, f"duplicate code (first at features[{seen[code]}])", code)
            )
        else:
            seen[code] = i
        point = _point(geom)
        if isinstance(point, str):
            problems.append(Problem(i, "geometry", point, code))
            points.append(None)
        else:
            polygons += geom is not None and geom.geom_type in ("Polygon", "MultiPolygon")
            points.append(point)
    if problems:
        raise FileRejected(path, problems)
    skip = {address_field, district_field, building_field, code_field, lon_field, lat_field}
    if path.suffix.lower() != ".csv":
        skip.add(data.geometry.name)
    extras = attribute_records(data, {s for s in skip if s})
    rows = []
    for i, address in enumerate(addresses):
        part = parsed[i]
        rows.append(
            {
                "code": codes[i],
                "address": address,
                "normalized": part.normalized,
                "district": (districts[i] if districts else None) or part.district,
                "road": part.road,
                "lane": part.lane,
                "number": part.number,
                "building": part.building,
                "unit": part.unit,
                "room": part.room,
                "detail": part.detail or None,
                "building_code": buildings[i] if buildings else None,
                "point": points[i],
                "attributes": extras[i],
            }
        )
    return rows, polygons, nameless


def _point(geom: shapely.Geometry | None) -> shapely.Point | str:
    """The point to store, or why there is none."""
    if geom is None or geom.is_empty:
        return "empty or missing geometry"
    if geom.geom_type == "Point":
        return geom
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        if not shapely.is_valid(geom):
            geom = shapely.make_valid(geom)
        return shapely.point_on_surface(geom)
    return f"{geom.geom_type} is neither a point nor a polygon"


def import_addresses(
    conn: Connection,
    path: Path,
    *,
    replace: bool = False,
    dry_run: bool = False,
    **columns: Any,
) -> AddressReport:
    """Import a standard-address file (points or polygons), upserting by code; ``columns``
    are :func:`read_addresses`'s options (``address_field=`` …)."""
    rows, polygons, nameless = read_addresses(path, **columns)
    report = AddressReport("addresses", str(path), dry_run, polygons=polygons)
    if nameless:
        report.warnings.append(
            f"{len(nameless)} address(es) name no road or place, so geocoding cannot reach "
            f"them: {preview(nameless)}"
        )
    existing = {
        r.code: r
        for r in conn.execute(
            select(
                ADDRESSES.c.code,
                *(ADDRESSES.c[c] for c in COMPARED),
                func.ST_X(ADDRESSES.c.geom).label("lon"),
                func.ST_Y(ADDRESSES.c.geom).label("lat"),
            )
        )
    }
    to_insert, to_update = [], []
    for row in rows:
        old = existing.get(row["code"])
        if old is None:
            report.added.append(row["code"])
            to_insert.append(row)
        elif _differs(old, row):
            report.changed.append(row["code"])
            to_update.append(row)
        else:
            report.unchanged.append(row["code"])
    if replace:
        incoming = {r["code"] for r in rows}
        report.removed = sorted(c for c in existing if c not in incoming)
    if dry_run:
        return report
    if report.removed:
        conn.execute(delete(ADDRESSES).where(ADDRESSES.c.code.in_(report.removed)))
    if to_insert:
        _copy_rows(conn, to_insert)
    for row in to_update:
        values = {k: v for k, v in row.items() if k != "point"}
        values["geom"] = from_shape(row["point"], srid=4326)
        conn.execute(update(ADDRESSES).where(ADDRESSES.c.code == row["code"]).values(**values))
    return report


COPIED = (
    "code",
    "address",
    "normalized",
    "district",
    "road",
    "lane",
    "number",
    "building",
    "unit",
    "room",
    "detail",
    "building_code",
)


def _copy_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` with COPY inside the caller's transaction (26k rows: about a second,
    against ~20 s of single-row INSERTs each maintaining the GiST index on its own)."""
    points = shapely.set_srid(np.array([r["point"] for r in rows], dtype=object), 4326)
    ewkb = shapely.to_wkb(points, hex=True, include_srid=True)
    columns = ", ".join((*COPIED, "geom", "attributes"))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(f"COPY addresses ({columns}) FROM STDIN") as copy:
        for row, geom in zip(rows, ewkb.tolist(), strict=True):
            attributes = json.dumps(row["attributes"], ensure_ascii=False)
            copy.write_row([*(row[c] for c in COPIED), geom, attributes])


def _differs(old: Any, row: dict[str, Any]) -> bool:
    if any(getattr(old, c) != row[c] for c in COMPARED):
        return True
    return bool(old.lon != row["point"].x or old.lat != row["point"].y)
