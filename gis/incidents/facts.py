"""Reading the statistics facts (migration 0013_stats_facts): the matching incidents' packed
22-byte facts (and, to group by day, their report times) in one narrow scan, decoded into
numpy columns.

The triggers on ``incidents`` keep ``incident_facts`` current in the writing transaction, so
what is read here is exactly what a direct query over ``incidents`` would see. The scan
aggregates the packed bytes into two values (incidents late at ``now`` and the others) fetched
in PostgreSQL's binary format: no per-row Python object, no hex decoding.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, LargeBinary, and_, func, select, text, true
from sqlalchemy import type_coerce as coerce

from gis.access import Scope
from gis.incidents.lifecycle import OPEN_STATES
from gis.incidents.query import Filters
from gis.store.models import INCIDENT_FACT_CELLS, INCIDENT_FACTS, INCIDENT_SOURCES

F = INCIDENT_FACTS.c
CELL = INCIDENT_FACT_CELLS.c
PACKED = np.dtype([("cell", ">i4"), ("flags", ">i2"), ("assign", ">f8"), ("resolve", ">f8")])
#: packed_day: packed, then reported_at in microseconds since 1970-01-01 UTC
PACKED_DAY = np.dtype([*PACKED.descr, ("us", ">i8")])
OPEN, DUPLICATE, NEEDS_REVIEW = 1, 2, 4
#: (shift, mask) of the state's and the source's positions in INCIDENT_STATES and
#: INCIDENT_SOURCES within the flags (migration 0020_dashboard_facts)
STATUS_BITS, SOURCE_BITS = (3, 15), (7, 7)
US_PER_HOUR, US_PER_DAY = 3_600_000_000, 86_400_000_000
#: bincount-based dense ids up to this span, np.unique (a sort) beyond
DENSE_SPAN = 4_000_000


class Facts:
    """The matching incidents as columns, one entry per incident: the late ones first."""

    def __init__(self, late: bytes | None, on_time: bytes | None, *, with_times: bool) -> None:
        dtype = PACKED_DAY if with_times else PACKED
        self._parts = [np.frombuffer(b or b"", dtype=dtype) for b in (late, on_time)]
        self.n_late = len(self._parts[0])
        self.size = self.n_late + len(self._parts[1])
        self.late = np.arange(self.size) < self.n_late
        self.cell = self.column("cell", np.int32)  # cell id: category, owner, area chain
        # OPEN | DUPLICATE | NEEDS_REVIEW, then the state's and the source's positions
        self.flags = self.column("flags", np.int16)
        self.assign = self.column("assign", np.float64)  # seconds to assignment, or NaN
        self.resolve = self.column("resolve", np.float64)  # seconds to resolution, or NaN

    def column(self, name: str, dtype: type[np.generic]) -> np.ndarray:
        """One field of every fact in native byte order (``us``: reported_at in
        microseconds since 1970-01-01 UTC, when read ``with_times``)."""
        out = np.empty(self.size, dtype=dtype)
        out[: self.n_late] = self._parts[0][name]
        out[self.n_late :] = self._parts[1][name]
        return out


def supports(filters: Filters) -> bool:
    """Whether the facts answer ``filters`` (a bbox needs the incidents' geometry; a scope
    of one key's own submissions needs the incidents' submitter)."""
    return filters.bbox is None and filters.scope.submitter is None


def _where(filters: Filters, now: datetime) -> Any:
    conds: list[Any] = []
    cell_conds: list[Any] = []
    if filters.category:
        cell_conds.append(CELL.category.in_(filters.category))
    if filters.scope.area is not None:  # the cells hold the ownership chain: the same rule
        cell_conds.append(filters.scope.incidents(INCIDENT_FACT_CELLS))
    if filters.area:
        cell_conds.append(Scope(filters.area).incidents(INCIDENT_FACT_CELLS))
    if cell_conds:
        conds.append(F.cell_id.in_(select(CELL.id).where(*cell_conds)))
    if filters.status:
        conds.append(F.status.in_(filters.status))
    if filters.source:
        # the source's position, bits 7-9 of the big-endian int2 flags at bytes 4-5
        flags = func.get_byte(F.packed, 4) * 256 + func.get_byte(F.packed, 5)
        shift, mask = SOURCE_BITS
        positions = [INCIDENT_SOURCES.index(s) for s in filters.source]
        conds.append(((flags // (1 << shift)) % (mask + 1)).in_(positions))
    if filters.start:
        conds.append(F.reported_at >= filters.start)
    if filters.end:
        conds.append(F.reported_at < filters.end)
    if filters.overdue is not None:
        conds.append(F.late_at < now if filters.overdue else F.late_at >= now)
    if filters.location_status:
        conds.append(F.needs_review == (filters.location_status == "needs_review"))
    if filters.duplicates is not None:
        conds.append(F.duplicate == filters.duplicates)
    return and_(true(), *conds)


def read_facts(
    conn: Connection, filters: Filters, now: datetime, *, with_times: bool = False
) -> Facts:
    """The facts of the incidents matching ``filters`` (not a bbox), split by lateness at
    ``now`` (late: the due time passed before resolution, closure or ``now``); their report
    times too ``with_times``."""
    empty = coerce(b"", LargeBinary)
    column = F.packed_day if with_times else F.packed
    q = select(
        func.string_agg(column, empty).filter(F.late_at < now),
        func.string_agg(column, empty).filter(F.late_at >= now),
    ).where(_where(filters, now))
    compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    # the driver's binary result format: 22 MB of bytea per million incidents arrive as is
    cursor = conn.connection.driver_connection.cursor(binary=True)  # type: ignore[union-attr]
    try:
        # never a prepared statement: after five runs PostgreSQL may switch a prepared one to
        # a generic plan, blind to the period's bounds (10× slower for a month of a street)
        late, on_time = cursor.execute(compiled.string, compiled.params, prepare=False).fetchone()
    finally:
        cursor.close()
    return Facts(late, on_time, with_times=with_times)


def count_overdue_open(conn: Connection, filters: Filters, now: datetime) -> int:
    """How many incidents matching ``filters`` are open and past their due time at ``now``
    (from the partial index of the open incidents' due times, migration 0018)."""
    q = (
        select(func.count())
        .select_from(INCIDENT_FACTS)
        .where(
            _where(replace(filters, overdue=None), now),
            F.late_at > text("'-infinity'::timestamptz"),
            F.late_at < now,
            F.status.in_(OPEN_STATES),
        )
    )
    return int(conn.execute(q).scalar_one())


def cells(conn: Connection) -> list[Any]:
    """Every cell: ``id``, ``category``, ``owner_code``, ``area_codes``."""
    return list(conn.execute(select(CELL.id, CELL.category, CELL.owner_code, CELL.area_codes)))


def dense(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct values, each value's index among them) of int64 ``values``; a
    bincount over the span when it is small, a sort otherwise."""
    if len(values) == 0:
        return values[:0], np.zeros(0, dtype=np.int64)
    low = int(values.min())
    span = int(values.max()) - low + 1
    if span > DENSE_SPAN:
        distinct, inverse = np.unique(values, return_inverse=True)
        return distinct, inverse.astype(np.int64)
    offset = values - low
    present = np.zeros(span, dtype=bool)
    present[offset] = True
    index = np.cumsum(present) - 1
    return np.flatnonzero(present).astype(np.int64) + low, index[offset]


def local_days(conn: Connection, us: np.ndarray, timezone: str) -> tuple[np.ndarray, np.ndarray]:
    """(distinct local dates as days since 1970-01-01, each instant's index among them) of
    instants in µs since 1970 UTC: PostgreSQL's ``date(timezone(timezone, t))``.

    PostgreSQL gives the UTC offset at the start and at the last microsecond of every
    distinct UTC hour. An hour with one offset at both ends (the tz database never changes an
    offset twice within an hour) and one local date at both ends maps all its instants to that
    date; the instants of an hour across local midnight (an offset that is not whole hours)
    are mapped one by one with its offset, and those of an hour with an offset change are
    asked of PostgreSQL one by one."""
    if len(us) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    hours, index = dense(us // US_PER_HOUR)
    # the hours as one int8[] literal: a list of Python ints costs more to send than to use
    hours_literal = "{" + ",".join(map(str, hours.tolist())) + "}"
    packed = conn.execute(
        text(
            "SELECT string_agg(int4send(date_part('epoch', timezone(:tz, t) - timezone('UTC', t))"
            "::int4) || int4send(date_part('epoch', timezone(:tz, t + :last) "
            "- timezone('UTC', t + :last))::int4), '' ORDER BY k) "
            "FROM unnest(CAST(:hours AS int8[])) WITH ORDINALITY AS u(h, k), "
            "LATERAL to_timestamp(u.h * 3600) AS t"
        ),
        {"hours": hours_literal, "tz": timezone, "last": timedelta(microseconds=US_PER_HOUR - 1)},
    ).scalar_one()
    offsets = np.frombuffer(packed, dtype=">i4").reshape(-1, 2).astype(np.int64) * 1_000_000
    first = (hours * US_PER_HOUR + offsets[:, 0]) // US_PER_DAY
    last = (hours * US_PER_HOUR + US_PER_HOUR - 1 + offsets[:, 1]) // US_PER_DAY
    uniform = (offsets[:, 0] == offsets[:, 1]) & (first == last)
    if uniform.all():
        days, day_of_hour = dense(first)
        return days, day_of_hour[index]
    by_row: np.ndarray = first[index]
    split = ~uniform[index]
    by_row[split] = (us[split] + offsets[index[split], 0]) // US_PER_DAY
    changed = (offsets[:, 0] != offsets[:, 1])[index]
    if changed.any():
        by_row[changed] = _days_one_by_one(conn, us[changed], timezone)
    return dense(by_row)


def _days_one_by_one(conn: Connection, us: np.ndarray, timezone: str) -> np.ndarray:
    packed = conn.execute(
        text(
            "SELECT string_agg(int4send(date(timezone(:tz, "
            "to_timestamp(0) + u.v * interval '1 microsecond')) - date '1970-01-01'), '' "
            "ORDER BY u.k) FROM unnest(CAST(:us AS int8[])) WITH ORDINALITY AS u(v, k)"
        ),
        {"us": us.tolist(), "tz": timezone},
    ).scalar_one()
    return np.frombuffer(packed, dtype=">i4").astype(np.int64)
