"""Streaming exports of incidents (CSV, GeoJSON) from a server-side cursor: memory stays
constant whatever the number of rows (one chunk of ``CHUNK`` rows at a time)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, func, select

from gis.csvsafe import safe_cell
from gis.incidents.query import Filters, feature, select_for_export, where
from gis.limits import MAX_EXPORT_ROWS, check_export_rows
from gis.store.db import database_errors
from gis.store.models import INCIDENTS

CHUNK = 5000
CSV_COLUMNS = (
    "id",
    "external_id",
    "category",
    "source",
    "status",
    "location_status",
    "lon",
    "lat",
    "address",
    "district",
    "owner_code",
    "owner_name",
    "generation",
    "reported_at",
    "due_at",
    "assigned_at",
    "resolved_at",
    "closed_at",
    "overdue",
    "duplicate_of",
    "description",
)


def check_export_size(
    engine: Engine,
    filters: Filters,
    *,
    max_rows: int = MAX_EXPORT_ROWS,
    now: datetime | None = None,
) -> int:
    """The number of incidents ``filters`` match; PayloadTooLarge if over ``max_rows``.

    Run before streaming starts, so that a refusal (or a bad filter value the database
    rejects) is still a proper answer rather than a cut-off download.
    """
    now = now or datetime.now(UTC)
    with database_errors(), engine.connect() as conn:
        matched = int(
            conn.execute(
                select(func.count()).select_from(INCIDENTS).where(where(filters, now))
            ).scalar_one()
        )
    check_export_rows(matched, maximum=max_rows)
    return matched


def _rows(engine: Engine, filters: Filters, now: datetime) -> Iterator[list[Any]]:
    """Chunks of rows from a named (server-side) cursor, inside one read transaction."""
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(
            select_for_export(filters, now)
        )
        for chunk in result.partitions():
            yield list(chunk)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None:
        return ""
    return safe_cell(value)


def export_csv(engine: Engine, filters: Filters, *, now: datetime | None = None) -> Iterator[bytes]:
    """UTF-8 CSV (with BOM, so spreadsheet programs read the Chinese text), header first."""
    now = now or datetime.now(UTC)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    for chunk in _rows(engine, filters, now):
        for r in chunk:
            m = r._mapping
            writer.writerow([_cell(m[c]) for c in CSV_COLUMNS])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


def export_geojson(
    engine: Engine, filters: Filters, *, now: datetime | None = None, reveal_phones: bool = False
) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection, one feature per incident, written feature by feature
    (reporters' phones masked unless ``reveal_phones``)."""
    now = now or datetime.now(UTC)
    yield b'{"type":"FeatureCollection","features":['
    first = True
    for chunk in _rows(engine, filters, now):
        parts = [orjson.dumps(feature(r, reveal_phones=reveal_phones)) for r in chunk]
        if parts:
            yield (b"" if first else b",") + b",".join(parts)
            first = False
    yield b"]}"
