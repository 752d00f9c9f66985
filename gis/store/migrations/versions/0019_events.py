"""Events (issue 26): the outbox every change writes in its own transaction, webhook
subscriptions, and the mark of the overdue sweep.

``events`` ids are taken under one transaction-level advisory lock (``wangge_events_lock``),
held until commit, so ids become visible in commit order: a reader that sees event N sees
every event below N that will ever exist (an aborted transaction leaves a gap, never a late
arrival). Incident events come from a statement trigger on ``incident_events``: every path
that writes a timeline entry (the one-statement intake, the batch intake, transitions,
relocation, reassignment, duplicate links, photos) writes its event with no extra round trip.
The trigger first takes the ``incidents`` data-version row lock (which every incident write
takes anyway, for its bump) so two writers always lock in the same order.

Revision ID: 0019_events
Revises: 0018_serving
"""

from __future__ import annotations

from alembic import op

revision = "0019_events"
down_revision = "0018_serving"
branch_labels = None
depends_on = None

#: the advisory lock key of the event sequencer ("wangge events" in ASCII, truncated)
LOCK_KEY = 0x77616E6765657673

#: an incident's summary as events carry it: the arguments of one jsonb_build_object, written
#: once for the summary function and the trigger (which builds summary and change together)
SUMMARY = """
    'id', i.id, 'external_id', i.external_id, 'category', i.category,
    'status', i.status, 'source', i.source, 'location_status', i.location_status,
    'owner_code', i.owner_code, 'owner_name', i.owner_name,
    'area_codes', i.area_codes, 'duplicate_of', i.duplicate_of,
    'lon', ST_X(i.geom), 'lat', ST_Y(i.geom),
    'reported_at', i.reported_at, 'due_at', i.due_at,
    'assigned_at', i.assigned_at, 'resolved_at', i.resolved_at,
    'closed_at', i.closed_at
"""

OPEN = "('reported', 'assigned', 'in_progress', 'returned', 'reopened', 'suspended', 'extended')"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE events (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            type text NOT NULL,
            at timestamptz NOT NULL DEFAULT now(),
            incident_id bigint,
            category text,
            area_codes text[] NOT NULL DEFAULT '{}',
            data jsonb NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX events_at_idx ON events (at)")  # Open311's updated_after
    op.execute("CREATE INDEX events_incident_idx ON events (incident_id, id)")
    op.execute(
        f"""
        CREATE FUNCTION wangge_events_lock() RETURNS void LANGUAGE sql AS $$
            SELECT pg_advisory_xact_lock({LOCK_KEY})
        $$
        """
    )
    # an incident's summary as events carry it (times in UTC: callers set TimeZone)
    op.execute(
        f"""
        CREATE FUNCTION wangge_incident_summary(i incidents) RETURNS jsonb
        LANGUAGE sql STABLE AS $$ SELECT jsonb_build_object({SUMMARY}) $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION wangge_incident_events_outbox() RETURNS trigger LANGUAGE plpgsql
        SET TimeZone = 'UTC' AS $$
        BEGIN
            PERFORM 1 FROM data_versions WHERE name = 'incidents' FOR NO KEY UPDATE;
            PERFORM wangge_events_lock();
            INSERT INTO events (type, incident_id, category, area_codes, data)
            SELECT CASE
                     WHEN e.kind = 'reported' THEN 'incident.created'
                     WHEN e.kind = 'reassigned' THEN 'incident.assigned'
                     WHEN e.kind = 'transition' AND e.to_status = 'assigned'
                         THEN 'incident.assigned'
                     WHEN e.kind = 'duplicate_unlinked' THEN 'incident.duplicate_linked'
                     ELSE 'incident.' || e.kind
                   END,
                   i.id, i.category, i.area_codes,
                   -- the summary and the change in one object (a concatenation would
                   -- copy every event's JSON once more)
                   jsonb_build_object({SUMMARY},
                       'change', jsonb_build_object(
                           'kind', e.kind, 'from', e.from_status, 'to', e.to_status,
                           'actor', e.actor, 'note', e.note, 'at', e.at, 'details', e.details,
                           'event_id', e.id))
            FROM new_rows e JOIN incidents i ON i.id = e.incident_id
            ORDER BY e.id;
            PERFORM pg_notify('wangge_events', '');
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER incident_events_outbox AFTER INSERT ON incident_events "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION wangge_incident_events_outbox()"
    )
    # the overdue sweep: open incidents whose due time passed since the last sweep
    op.execute(f"CREATE INDEX incidents_open_due_idx ON incidents (due_at) WHERE status IN {OPEN}")
    op.execute(
        """
        CREATE TABLE event_sweeps (
            name text PRIMARY KEY,
            upto timestamptz NOT NULL
        )
        """
    )
    op.execute("INSERT INTO event_sweeps (name, upto) VALUES ('overdue', now())")
    op.execute(
        """
        CREATE TABLE event_subscriptions (
            id text PRIMARY KEY,
            url text NOT NULL,
            secret text NOT NULL,
            types text[],
            area text,
            categories text[],
            scope text,
            submitter text,
            key_id text,
            state text NOT NULL DEFAULT 'active',
            cursor bigint NOT NULL,
            failures integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            last_error text,
            last_delivered_at timestamptz,
            delivered bigint NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT event_subscription_state CHECK (state IN ('active', 'paused'))
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE event_subscriptions")
    op.execute("DROP TABLE event_sweeps")
    op.execute("DROP INDEX incidents_open_due_idx")
    op.execute("DROP TRIGGER incident_events_outbox ON incident_events")
    op.execute("DROP FUNCTION wangge_incident_events_outbox()")
    op.execute("DROP FUNCTION wangge_incident_summary(incidents)")
    op.execute("DROP FUNCTION wangge_events_lock()")
    op.execute("DROP TABLE events")
