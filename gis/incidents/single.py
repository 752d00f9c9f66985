"""One incident taken in with one SQL statement: the request path of ``POST /v1/incidents``.

What needs no database runs in the process first: validation against the cached categories,
location and assignment from the in-memory index, the SLA due time. Then one statement, its
own transaction (autocommit), does everything else: it looks for an incident stored under
the same ``external_id``, finds the incident this one duplicates, inserts the incident, its
first events and the caller's audit entry, and returns the stored row with its timeline. One
round trip instead of about ten, and the ``incidents`` data-version row (which every insert
bumps, so concurrent intakes queue on it) stays locked only while that statement runs.

The statement also checks that the categories it was validated against are still current
(their data version); when they changed, they are read again and the request runs once more.
Anything unusual — another request storing the same ``external_id`` at the same moment, an
incident placed outside the caller's scope, categories changing twice in a row — is left to
:func:`gis.incidents.intake.intake` (the caller falls back to it), which handles every case.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql

from gis.access import EVERYWHERE, Scope
from gis.errors import InvalidInput, Unavailable
from gis.incidents.categories import CategorySet
from gis.incidents.duplicates import NEAREST_SQL, nearest_params
from gis.incidents.intake import COLUMNS, JSON_COLUMNS, IntakeContext, first_events, incident_row
from gis.incidents.locating import place_many
from gis.incidents.parse import parse_incident
from gis.incidents.query import feature, get_incident, stored, timeline_entry
from gis.security.audit import Entry
from gis.store.db import UNREACHABLE
from gis.store.models import INCIDENTS

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]
#: the columns the statement writes (the id comes from the identity; duplicate_of from SQL)
_WRITTEN = tuple(c for c in COLUMNS if c not in ("id", "duplicate_of"))


def _typed(column: str) -> str:
    """The parameter of ``column`` cast to its type (a NULL must be typed in a SELECT)."""
    return f"%({column})s::{INCIDENTS.c[column].type.compile(dialect=_PG)}"


STATEMENT = f"""
WITH prior AS (
    SELECT id FROM incidents WHERE external_id = %(external_id)s::text
), dup AS ({NEAREST_SQL}
), ins AS (
    INSERT INTO incidents ({", ".join(_WRITTEN)}, duplicate_of)
    SELECT {", ".join(_typed(c) for c in _WRITTEN)}, (SELECT id FROM dup)
    WHERE NOT EXISTS (SELECT FROM prior)
      AND (SELECT version FROM data_versions WHERE name = 'incident_categories')
          = %(categories_version)s::bigint
    ON CONFLICT (external_id) DO NOTHING
    RETURNING *
), ev AS (
    INSERT INTO incident_events
        (incident_id, kind, from_status, to_status, actor, note, at, geom, details)
    SELECT ins.id, e.kind, e.from_status, e.to_status, e.actor,
           coalesce(e.note, 'duplicate of incident ' || ins.duplicate_of), e.at,
           CASE WHEN e.n = 1 THEN ins.geom END,
           coalesce(e.details, jsonb_build_object('duplicate_of', ins.duplicate_of))
    FROM ins CROSS JOIN (VALUES
        (1, 'reported', NULL::text, 'reported', %(actor)s::text, %(reported_note)s::text,
         %(reported_at)s::timestamptz, '{{}}'::jsonb),
        (2, 'duplicate_linked', NULL, NULL, 'system', NULL, %(reported_at)s::timestamptz, NULL),
        (3, 'transition', 'reported', 'assigned', 'system', %(assigned_note)s::text,
         %(assigned_at)s::timestamptz, %(assigned_details)s::jsonb)
    ) AS e (n, kind, from_status, to_status, actor, note, at, details)
    WHERE (e.n <> 2 OR ins.duplicate_of IS NOT NULL) AND (e.n <> 3 OR ins.assigned_at IS NOT NULL)
    ORDER BY e.n
    RETURNING id, kind, from_status, to_status, actor, note, at, details,
              ST_X(geom) AS lon, ST_Y(geom) AS lat
), audited AS (
    INSERT INTO audit_log (key_id, key_name, role, action, target, client, detail)
    SELECT %(audit_key_id)s::text, %(audit_key_name)s::text, %(audit_role)s::text,
           %(audit_action)s::text, 'incident/' || ins.id, %(audit_client)s::text, '{{}}'::jsonb
    FROM ins WHERE %(audit_action)s::text IS NOT NULL
)
SELECT (SELECT id FROM prior) AS prior_id,
       (SELECT version FROM data_versions WHERE name = 'incident_categories')
           AS categories_version,
       ins.*,
       ST_X(ins.geom) AS lon, ST_Y(ins.geom) AS lat,
       ins.due_at < coalesce(ins.resolved_at, ins.closed_at, %(created_at)s::timestamptz)
           AS overdue,
       ev.kind AS event_kind, ev.from_status AS event_from, ev.to_status AS event_to,
       ev.actor AS event_actor, ev.note AS event_note, ev.at AS event_at,
       ev.details AS event_details, ev.lon AS event_lon, ev.lat AS event_lat
FROM (VALUES (1)) AS one (n) LEFT JOIN ins ON true LEFT JOIN ev ON true
ORDER BY ev.at, ev.id
"""
# psycopg caches the parsing of a statement up to 4,096 characters: keep it under that
STATEMENT = " ".join(STATEMENT.split())


def take_one(
    engine: Engine,
    ctx: IntakeContext,
    body: Any,
    *,
    scope: Scope = EVERYWHERE,
    audit: Entry | None = None,
    actor: str = "intake",
) -> tuple[dict[str, Any], bool] | None:
    """Take one incident in; (the stored incident as a Feature, True if newly created), or
    None when the general path must decide (see the module docstring). A bad body raises
    InvalidInput naming the field, as :func:`gis.incidents.service.submit` does."""
    now = datetime.now(UTC)
    categories = ctx.categories.current or _reload(engine, ctx)
    for attempt in range(2):
        try:
            params = _params(ctx, body, categories, now, scope, audit, actor)
        except InvalidInput as exc:
            if exc.field != "category" or attempt:
                raise
            fresh = _reload(engine, ctx)  # a category imported since they were cached?
            if fresh.version == categories.version:
                raise
            categories = fresh
            continue
        if params is None:
            return None
        rows = _run(engine, params)
        if rows is None:
            return None  # a database error: intake() meets it again and reports it as usual
        first = rows[0]
        if first.id is not None:
            if first.duplicate_of is None or scope.everywhere:
                return _feature(rows), True
            with engine.connect() as conn:  # does it name an incident outside the scope?
                return get_incident(conn, int(first.id), scope=scope), True
        if first.prior_id is not None:
            with engine.connect() as conn:
                return stored(conn, int(first.prior_id), scope), False
        if first.categories_version == categories.version:
            return None  # another request stored this external_id just now: intake() answers
        categories = _reload(engine, ctx)
    return None


def _run(engine: Engine, params: dict[str, Any]) -> list[Any] | None:
    """The statement's rows, run on a pooled connection of ``engine`` in autocommit (the
    statement is its own transaction), straight through the driver: the connection is held
    for this statement only, and SQLAlchemy's per-execution bookkeeping is skipped. None on
    any database error: one statement is all or nothing, so nothing was written."""
    try:
        pooled = engine.raw_connection()
    except psycopg.OperationalError as exc:  # the pool does not wrap a failed connect
        raise Unavailable(UNREACHABLE, field="database") from exc
    try:
        connection: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]
        connection.autocommit = True
        try:
            with connection.cursor(row_factory=namedtuple_row) as cursor:
                cursor.execute(STATEMENT, params)
                return cursor.fetchall()
        except psycopg.Error:
            if connection.broken or connection.closed:
                pooled.invalidate()  # lost: never hand it out again
            return None
        finally:
            if not connection.closed:
                connection.autocommit = False
    finally:
        pooled.close()  # back to the pool


def _reload(engine: Engine, ctx: IntakeContext) -> CategorySet:
    with engine.connect() as conn:
        return ctx.categories.reload(conn)


def _params(
    ctx: IntakeContext,
    body: Any,
    categories: CategorySet,
    now: datetime,
    scope: Scope,
    audit: Entry | None,
    actor: str,
) -> dict[str, Any] | None:
    """The statement's parameters for ``body``: validated, located, assigned, its SLA due
    time computed; None when intake() must decide (a place outside ``scope``)."""
    item = parse_incident(body, now=now, categories=set(categories.codes))
    [place] = place_many(ctx.assigner, [item], ctx.resolver)
    if place.lon is not None and not scope.holds_chain(place.area_codes):
        return None  # refused, unless a stored incident has this external_id: intake() knows
    category = categories.by_code[item.category]
    due = ctx.calendar.due(item.reported_at, category.sla_hours, category.clock)
    assigned_at = now if place.owner_code is not None else None
    row = incident_row(0, item, place, due, None, assigned_at, now)
    row["submitted_by"] = audit.principal.key_id if audit is not None else None
    events = first_events(0, item, place, None, assigned_at, actor)
    params: dict[str, Any] = {
        c: orjson.dumps(row[c]).decode() if c in JSON_COLUMNS and row[c] is not None else row[c]
        for c in _WRITTEN
    }
    params.update(nearest_params(item, place, category))
    params["categories_version"] = categories.version
    params["actor"] = actor
    params["reported_note"] = events[0]["note"]
    assigned = events[-1] if assigned_at is not None else None
    params["assigned_note"] = assigned["note"] if assigned else None
    params["assigned_details"] = orjson.dumps(assigned["details"]).decode() if assigned else None
    params.update(_audit_params(audit))
    return params


def _audit_params(audit: Entry | None) -> dict[str, Any]:
    who = audit.principal if audit is not None else None
    return {
        "audit_key_id": who.key_id if who else None,
        "audit_key_name": who.name if who else None,
        "audit_role": who.role if who else None,
        "audit_action": audit.action if audit else None,
        "audit_client": audit.client if audit else None,
    }


def _feature(rows: Sequence[Any]) -> dict[str, Any]:
    """The stored incident as :func:`gis.incidents.query.get_incident` shows it."""
    out = feature(rows[0])
    out["properties"]["timeline"] = [
        timeline_entry(
            r.event_kind,
            r.event_from,
            r.event_to,
            r.event_actor,
            r.event_note,
            r.event_at,
            r.event_details,
            r.event_lon,
            r.event_lat,
        )
        for r in rows
        if r.event_kind is not None
    ]
    return out
