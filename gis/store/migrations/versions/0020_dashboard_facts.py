"""Statistics facts know each incident's state and source (issue 25: /v1/stats groups by
``status`` and ``source`` from the facts, < 0.5 s over 1M incidents).

The packed fact keeps its 22 bytes: the int2 flags, of which 0013 used three bits (1 open,
2 duplicate, 4 needs review), now also carry the state's position in
``gis.store.models.INCIDENT_STATES`` (bits 3–6) and the source's position in
``INCIDENT_SOURCES`` (bits 7–9). The trigger function is replaced and every fact repacked
in the migration's transaction (the lists are spelled out here (a migration never imports
code that may change; a test checks they equal the models' tuples). A partial index on the
open incidents' due time answers "overdue now" without reading every fact.

Revision ID: 0020_dashboard_facts
Revises: 0019_events
"""

from __future__ import annotations

from alembic import op

revision = "0020_dashboard_facts"
down_revision = "0019_events"
branch_labels = None
depends_on = None

STATES = (
    "reported",
    "assigned",
    "in_progress",
    "resolved",
    "closed",
    "returned",
    "reopened",
    "suspended",
    "extended",
)
SOURCES = ("hotline", "app", "patrol", "camera", "other")


def _array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]::text[]"


def _flags(extended: bool) -> str:
    base = (
        "(n.status NOT IN ('resolved', 'closed'))::int"
        " + 2 * (n.duplicate_of IS NOT NULL)::int"
        " + 4 * (n.location_status = 'needs_review')::int"
    )
    if extended:
        base += (
            f" + 8 * (array_position({_array(STATES)}, n.status) - 1)"
            f" + 128 * (array_position({_array(SOURCES)}, n.source) - 1)"
        )
    return f"int2send(({base})::int2)"


_ENDED = "coalesce(n.resolved_at, n.closed_at)"


def _packed(extended: bool) -> str:
    return f"""
    int4send(c.id)
    || {_flags(extended)}
    || float8send(coalesce(date_part('epoch', n.assigned_at - n.reported_at), 'NaN'))
    || float8send(coalesce(date_part('epoch', n.resolved_at - n.reported_at), 'NaN'))
    """


_CELL_MATCH = (
    "c.category = n.category AND c.area_codes = n.area_codes "
    "AND c.owner_code IS NOT DISTINCT FROM n.owner_code"
)
_COLUMNS = (
    "late_at, packed, packed_day, incident_id, reported_at, cell_id, needs_review, duplicate, "
    "status"
)


def _new_cells(rows: str) -> str:
    return f"""
    INSERT INTO incident_fact_cells (category, owner_code, area_codes)
    SELECT DISTINCT n.category, n.owner_code, n.area_codes FROM {rows} n
    WHERE NOT EXISTS (SELECT 1 FROM incident_fact_cells c WHERE {_CELL_MATCH})
    ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING
    """


def _upsert(rows: str, extended: bool) -> str:
    packed = _packed(extended)
    return f"""
    INSERT INTO incident_facts ({_COLUMNS})
    SELECT
        CASE WHEN {_ENDED} IS NULL THEN n.due_at
             WHEN n.due_at < {_ENDED} THEN '-infinity'::timestamptz
             ELSE 'infinity'::timestamptz END,
        {packed},
        {packed} || int8send((extract(epoch FROM n.reported_at) * 1000000)::int8),
        n.id, n.reported_at, c.id, n.location_status = 'needs_review',
        n.duplicate_of IS NOT NULL, n.status
    FROM {rows} n JOIN incident_fact_cells c ON {_CELL_MATCH}
    ON CONFLICT (incident_id) DO UPDATE SET
        reported_at = EXCLUDED.reported_at, cell_id = EXCLUDED.cell_id,
        status = EXCLUDED.status, late_at = EXCLUDED.late_at, packed_day = EXCLUDED.packed_day,
        needs_review = EXCLUDED.needs_review, duplicate = EXCLUDED.duplicate,
        packed = EXCLUDED.packed
    WHERE incident_facts.packed IS DISTINCT FROM EXCLUDED.packed
       OR incident_facts.status IS DISTINCT FROM EXCLUDED.status
       OR incident_facts.late_at IS DISTINCT FROM EXCLUDED.late_at
       OR incident_facts.reported_at IS DISTINCT FROM EXCLUDED.reported_at
    """


def _install(extended: bool) -> None:
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION wangge_incident_facts_upsert() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            {_new_cells("new_rows")};
            {_upsert("new_rows", extended)};
            RETURN NULL;
        END $$
        """
    )
    op.execute(_upsert("incidents", extended))


def upgrade() -> None:
    _install(extended=True)
    # the open incidents (a finite late_at: their due time) by due time, for "overdue now"
    op.execute(
        "CREATE INDEX incident_facts_open_due_idx ON incident_facts (late_at) "
        "WHERE late_at > '-infinity' AND late_at < 'infinity'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX incident_facts_open_due_idx")
    _install(extended=False)
