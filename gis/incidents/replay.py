"""Replaying a dated CSV as an incident stream (e.g. a day-by-day report file): each row
becomes an incident, stored or linked as a duplicate, in chunks of one transaction each.

Row ``k`` of file ``F`` gets external id ``replay:F:k`` unless an id column is named, so a
replay interrupted half-way can simply be run again: rows already stored are recognised.
Times without a zone are local (``Settings.incident_timezone``); a bare ``YYYYMMDD`` date
is that day at 00:00 local.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from gis.errors import InvalidInput, NotFound
from gis.incidents.intake import IntakeContext, intake

CHUNK = 5000


@dataclass(frozen=True)
class Columns:
    """Which CSV column holds what (None: not in the file)."""

    time: str = "date"
    address: str | None = None
    district: str | None = None
    lon: str | None = None
    lat: str | None = None
    category: str | None = None
    id: str | None = None
    description: str | None = None


@dataclass
class ReplayReport:
    rows: int = 0
    stored: int = 0
    duplicates: int = 0
    needs_review: int = 0
    existing: int = 0
    errors: int = 0
    first_errors: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_category_map(path: Path) -> dict[str, str]:
    """A two-column CSV ``value,category`` mapping file values to category codes."""
    if not path.exists():
        raise NotFound(f"no such file: {path}", field="category_map")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return {row[0]: row[1] for row in csv.reader(handle) if len(row) >= 2}


def _time(value: str, tz: ZoneInfo, line: int) -> str:
    text = value.strip()
    try:
        parsed = (
            datetime.strptime(text, "%Y%m%d")
            if len(text) == 8 and text.isdigit()
            else datetime.fromisoformat(text.replace("Z", "+00:00"))
        )
    except ValueError:
        raise InvalidInput(f"line {line}: {text!r} is not a date or time", field="time") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)).isoformat()


def _chunks(
    path: Path,
    cols: Columns,
    *,
    category: str | None,
    mapping: dict[str, str],
    source: str,
    tz: ZoneInfo,
) -> Iterator[list[dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        names = reader.fieldnames or []
        for option, name in asdict(cols).items():
            if name is not None and name not in names:
                raise InvalidInput(
                    f"no column {name!r} in {path.name}; columns: {', '.join(names)}",
                    field=f"{option}_col",
                )
        chunk: list[dict[str, Any]] = []
        for k, row in enumerate(reader, start=2):
            raw_category = row[cols.category] if cols.category else category
            body: dict[str, Any] = {
                "category": mapping.get(raw_category or "", raw_category),
                "source": source,
                "reported_at": _time(row[cols.time], tz, k),
                "external_id": row[cols.id] if cols.id else f"replay:{path.name}:{k}",
            }
            if cols.address and row[cols.address]:
                body["address"] = row[cols.address]
            if cols.district and row[cols.district]:
                body["district"] = row[cols.district]
            if cols.lon and cols.lat and row[cols.lon] and row[cols.lat]:
                body["lon"], body["lat"] = row[cols.lon], row[cols.lat]
            if cols.description:
                body["description"] = row[cols.description]
            chunk.append(body)
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def replay(
    engine: Engine,
    ctx: IntakeContext,
    path: Path,
    cols: Columns,
    *,
    category: str | None = None,
    category_map: Path | None = None,
    source: str = "other",
    crs: str = "wgs84",
    timezone: str = "Asia/Shanghai",
    progress: Callable[[int], None] = lambda _: None,
) -> ReplayReport:
    """Take every row in; counts of what became of them. Assignment is stamped at the
    report time (the stream is history, not live intake)."""
    if not path.exists():
        raise NotFound(f"no such file: {path}", field="file")
    if (category is None) == (cols.category is None):
        raise InvalidInput("give either --category or --category-col", field="category")
    mapping = read_category_map(category_map) if category_map else {}
    report = ReplayReport(first_errors=[])
    for bodies in _chunks(
        path, cols, category=category, mapping=mapping, source=source, tz=ZoneInfo(timezone)
    ):
        if crs != "wgs84":
            for b in bodies:
                b["crs"] = crs
        with engine.begin() as conn:
            taken = intake(conn, ctx, bodies, actor="replay", assign_at="reported")
        for t in taken:
            if t.error is not None:
                report.errors += 1
                if report.first_errors is not None and len(report.first_errors) < 10:
                    line = report.rows + t.index + 2
                    report.first_errors.append(
                        f"line {line}: {t.error['field']}: {t.error['reason']}"
                    )
            elif not t.created:
                report.existing += 1
            else:
                report.stored += 1
                report.duplicates += t.duplicate_of is not None
                report.needs_review += t.location_status == "needs_review"
        report.rows += len(bodies)
        progress(len(bodies))
    return report
