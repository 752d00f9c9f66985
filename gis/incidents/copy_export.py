"""Exports at the speed of the database: CSV straight from PostgreSQL's ``COPY … TO STDOUT``
(issue 25: 1M incidents ≥ 5× faster than pandas ``read_sql`` + ``to_csv``, memory flat), and
an ``.xlsx`` workbook up to the spreadsheet's row limit.

Formula injection: a text cell that a spreadsheet would read as a formula (its first
character ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading ``'``. The escape
is part of the SQL, so that COPY still streams rows the Python side never parses. Times are
ISO 8601 in UTC (``2026-11-07T04:11:15.389423+00``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Select, String, case, cast, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from gis.access import EVERYWHERE, Scope
from gis.incidents.export import CSV_COLUMNS
from gis.incidents.query import Filters, overdue_expr, where
from gis.store.models import INCIDENTS

C = INCIDENTS.c
#: what a spreadsheet takes for the start of a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: the last row of a sheet (Excel and LibreOffice: 1,048,576), less the header
XLSX_MAX_ROWS = 1_048_575
TEXT_COLUMNS = (
    "external_id",
    "category",
    "source",
    "status",
    "location_status",
    "address",
    "district",
    "owner_code",
    "owner_name",
    "description",
)
TIME_COLUMNS = ("reported_at", "due_at", "assigned_at", "resolved_at", "closed_at")
#: bytes gathered before a chunk is handed on (COPY sends one message per row)
CHUNK_BYTES = 1 << 20


def escape_formula(value: str) -> str:
    """``value`` with a leading ``'`` if a spreadsheet would take it for a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _escaped(column: ColumnElement[Any]) -> ColumnElement[Any]:
    starts = func.left(column, 1).in_([literal(c) for c in FORMULA_STARTS])
    return case((starts, literal("'") + column), else_=column)


def _iso(column: ColumnElement[Any]) -> ColumnElement[Any]:
    # the text form of a timestamptz under TimeZone UTC, with ISO 8601's T
    return func.replace(cast(column, String), " ", "T")


def export_columns(now: datetime, scope: Scope = EVERYWHERE) -> list[ColumnElement[Any]]:
    """The export's columns (``CSV_COLUMNS``), text escaped and times as ISO text, and
    ``duplicate_of`` only where that incident is in ``scope``."""
    out: list[ColumnElement[Any]] = []
    for name in CSV_COLUMNS:
        if name == "lon":
            out.append(func.ST_X(C.geom).label(name))
        elif name == "lat":
            out.append(func.ST_Y(C.geom).label(name))
        elif name == "overdue":
            late = overdue_expr(now)
            out.append(case((late, literal("True")), else_=literal("False")).label(name))
        elif name in TEXT_COLUMNS:
            out.append(_escaped(C[name]).label(name))
        elif name in TIME_COLUMNS:
            out.append(_iso(C[name]).label(name))
        elif name == "duplicate_of":
            out.append(scope.incident_ref(C.duplicate_of).label(name))
        else:
            out.append(C[name].label(name))
    return out


def _query(filters: Filters, now: datetime) -> Select[Any]:
    return select(*export_columns(now, filters.scope)).where(where(filters, now)).order_by(C.id)


def _compiled(engine: Engine, filters: Filters, now: datetime) -> tuple[str, Any]:
    compiled = _query(filters, now).compile(
        dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    return compiled.string, compiled.params


def copy_csv(engine: Engine, filters: Filters, *, now: datetime | None = None) -> Iterator[bytes]:
    """UTF-8 CSV with a BOM and a header, streamed from ``COPY (SELECT …) TO STDOUT`` in
    chunks of about ``CHUNK_BYTES`` (memory stays flat whatever the row count)."""
    now = now or datetime.now(UTC)
    sql, params = _compiled(engine, filters, now)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute("SET LOCAL TimeZone = 'UTC'")
            yield "\ufeff".encode()
            pending: list[bytes] = []
            size = 0
            with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)", params) as copy:
                for data in copy:
                    pending.append(bytes(data))
                    size += len(data)
                    if size >= CHUNK_BYTES:
                        yield b"".join(pending)
                        pending, size = [], 0
            if pending:
                yield b"".join(pending)


def xlsx_file(
    engine: Engine, filters: Filters, *, now: datetime | None = None, batch: int = 10_000
) -> str:
    """A path to a temporary ``.xlsx`` of the matching incidents (the caller removes it):
    one sheet, header first, written in constant memory from a server-side cursor; at most
    ``XLSX_MAX_ROWS`` rows (the caller checks the count first)."""
    import xlsxwriter

    now = now or datetime.now(UTC)
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="wangge-export-")
    os.close(fd)
    workbook = xlsxwriter.Workbook(
        path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    try:
        sheet = workbook.add_worksheet("incidents")
        sheet.write_row(0, 0, CSV_COLUMNS)
        q = _query(filters, now)
        row = 1
        with engine.connect() as conn:
            conn.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(q)
            for part in result.partitions():
                for r in part:
                    if row > XLSX_MAX_ROWS:
                        break
                    sheet.write_row(row, 0, ["" if v is None else v for v in r])
                    row += 1
    finally:
        workbook.close()
    return path


def stream_file(path: str, *, chunk: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The bytes of ``path`` in chunks; the file is removed at the end (or when the
    download is abandoned)."""
    try:
        with open(path, "rb") as f:
            while data := f.read(chunk):
                yield data
    finally:
        os.unlink(path)
