"""Reading the outbox in id order (= commit order): the pull list, the stream, deliveries.

An event is shown as ``{"id", "type", "at", "data"}``; ``data`` carries the changed object's
``id`` and summary (an incident: category, state, owner, area chain, times, and ``change``:
what this event changed). What a caller sees is its :class:`~gis.access.Scope`'s: the
events of the incidents that scope holds (by the incident's stored owner and, for an
integration key, its submitter), the coverage reports of areas in the scope; events of
nothing in the hierarchy (a generation activated, a whole-generation report) only callers
whose scope is everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import ColumnElement, Connection, and_, literal, or_, select, true

from gis.access import EVERYWHERE, Scope
from gis.access.scope import owned_below
from gis.errors import InvalidInput
from gis.events.outbox import TYPES
from gis.incidents.query import visible_timeline
from gis.store.models import EVENTS, INCIDENTS

E = EVENTS.c
MAX_LIMIT: Final = 1000
DEFAULT_LIMIT: Final = 100


@dataclass(frozen=True)
class EventFilter:
    """Which events: after an id, of some types, at or below an area, of some categories;
    ``scope`` is the caller's (never set from a query)."""

    after: int = 0
    types: tuple[str, ...] = ()
    area: str | None = None
    categories: tuple[str, ...] = ()
    scope: Scope = EVERYWHERE

    @classmethod
    def parse(
        cls,
        *,
        after: int | None = None,
        types: str | Sequence[str] | None = None,
        area: str | None = None,
        categories: Sequence[str] | None = None,
        scope: Scope = EVERYWHERE,
    ) -> EventFilter:
        """From query values (``types`` a comma list or a list); unknown types are refused."""
        wanted = tuple(
            t for t in (types.split(",") if isinstance(types, str) else types or ()) if t
        )
        unknown = [t for t in wanted if t not in TYPES]
        if unknown:
            raise InvalidInput(
                f"unknown event type {unknown[0]!r}; types: {', '.join(TYPES)}", field="types"
            )
        if after is not None and after < 0:
            raise InvalidInput("must be 0 or more", field="after")
        return cls(after or 0, wanted, area or None, tuple(categories or ()), scope)

    def conditions(self) -> list[Any]:
        """The SQL conditions (bound parameters only)."""
        out: list[Any] = [E.id > self.after]
        if self.types:
            out.append(E.type.in_(self.types))
        if self.area is not None:
            out.append(owned_below(EVENTS, literal(self.area)))  # the incidents rule
        if self.categories:
            out.append(E.category.in_(self.categories))
        if not self.scope.everywhere:
            held = select(INCIDENTS.c.id).where(self.scope.incidents(INCIDENTS))
            seen: list[ColumnElement[bool]] = [E.incident_id.in_(held)]
            if self.scope.submitter is None:  # an integration key follows its incidents only
                report_area = E.data["area"].astext
                seen.append(
                    and_(E.type == "coverage.report", report_area.in_(self.scope.area_codes()))
                )
            out.append(or_(*seen))
        return out


def shown(row: Any) -> dict[str, Any]:
    """One outbox row as callers see it."""
    return {
        "id": row.id,
        "type": row.type,
        "at": row.at.astimezone(UTC).isoformat(),
        "data": row.data,
    }


class Seen(NamedTuple):
    """An event as one scope sees it."""

    id: int
    type: str
    at: datetime
    data: Any


def as_seen(conn: Connection, scope: Scope, rows: Sequence[Any]) -> list[Any]:
    """``rows`` (id, type, at, data) as ``scope`` sees them: another incident outside it is
    named nowhere (``duplicate_of`` null; in the change, its id null and "another incident"
    in the note), as ``GET /v1/incidents/{id}`` and its timeline show it."""
    if scope.everywhere:
        return list(rows)
    datas = [r.data if isinstance(r.data, dict) else {} for r in rows]
    changes = visible_timeline(
        conn, [{"details": None, "note": "", **d.get("change", {})} for d in datas], scope
    )
    visible = scope.visible_incidents(conn, [d.get("duplicate_of") for d in datas])
    out: list[Any] = []
    for r, data, change in zip(rows, datas, changes, strict=True):
        if "change" in data:
            data = {**data, "change": change}
        if data.get("duplicate_of") not in (None, *visible):
            data = {**data, "duplicate_of": None}
        out.append(Seen(r.id, r.type, r.at, data or r.data))
    return out


def read_events(conn: Connection, where: EventFilter, *, limit: int = DEFAULT_LIMIT) -> list[Any]:
    """Up to ``limit`` events matching ``where``, in id order (rows: id, type, at, data), as
    its scope sees them."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"must be between 1 and {MAX_LIMIT}", field="limit")
    query = (
        select(E.id, E.type, E.at, E.data)
        .where(true(), *where.conditions())
        .order_by(E.id)
        .limit(limit)
    )
    return as_seen(conn, where.scope, conn.execute(query).all())


def last_id(conn: Connection) -> int:
    """The id of the newest event (0: none yet)."""
    from sqlalchemy import func

    return int(conn.execute(select(func.coalesce(func.max(E.id), 0))).scalar_one())
