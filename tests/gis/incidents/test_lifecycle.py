"""Every legal and illegal transition; side effects; the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, select, update

from gis.errors import Conflict, InvalidInput
from gis.incidents.intake import IntakeContext, intake
from gis.incidents.lifecycle import TRANSITIONS, transition
from gis.incidents.query import get_incident
from gis.store.models import INCIDENT_STATES, INCIDENTS
from tests.gis.incidents.conftest import NOW, body

PAIRS = [(a, b) for a in INCIDENT_STATES for b in INCIDENT_STATES]


def _at_state(conn: Connection, ctx: IntakeContext, state: str) -> int:
    [t] = intake(conn, ctx, [body()], now=NOW)
    conn.execute(update(INCIDENTS).where(INCIDENTS.c.id == t.id).values(status=state))
    assert t.id is not None
    return t.id


@pytest.mark.parametrize(("start", "to"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_transition_table(sconn: Connection, ctx: IntakeContext, start: str, to: str) -> None:
    ident = _at_state(sconn, ctx, start)
    if to in TRANSITIONS[start]:
        out = transition(sconn, ident, to=to, actor="王芳", note="原因: 测试")
        assert out["from"] == start and out["to"] == to
        incident = get_incident(sconn, ident)["properties"]
        assert incident["status"] == to
        last = incident["timeline"][-1]
        assert (last["from"], last["to"], last["actor"]) == (start, to, "王芳")
    else:
        with pytest.raises(Conflict) as caught:
            transition(sconn, ident, to=to, actor="王芳", note="x")
        assert caught.value.field == "to"
        assert caught.value.extra["current"] == start
        assert caught.value.extra["allowed"] == list(TRANSITIONS[start])
        assert start in caught.value.reason
        status = sconn.execute(select(INCIDENTS.c.status).where(INCIDENTS.c.id == ident))
        assert status.scalar_one() == start


def test_full_path_sets_times_and_timeline(sconn: Connection, ctx: IntakeContext) -> None:
    [t] = intake(sconn, ctx, [body()], now=NOW)
    assert t.id is not None
    steps = ["in_progress", "resolved", "reopened", "resolved", "closed"]
    for k, to in enumerate(steps):
        transition(sconn, t.id, to=to, actor="李强", at=NOW + timedelta(hours=k + 1))
    row = sconn.execute(select(INCIDENTS).where(INCIDENTS.c.id == t.id)).one()
    assert row.resolved_at == NOW + timedelta(hours=4) and row.closed_at == NOW + timedelta(hours=5)
    timeline = get_incident(sconn, t.id)["properties"]["timeline"]
    assert [e["to"] for e in timeline if e["kind"] == "transition"] == ["assigned", *steps]


def test_extension_needs_reason_and_moves_due(sconn: Connection, ctx: IntakeContext) -> None:
    [t] = intake(sconn, ctx, [body(category="standing_water")], now=NOW)  # 12 calendar h
    assert t.id is not None and t.due_at is not None
    with pytest.raises(InvalidInput) as caught:
        transition(sconn, t.id, to="extended", actor="王芳")
    assert caught.value.field == "note"
    out = transition(sconn, t.id, to="extended", actor="王芳", note="等待物业配合", hours=6)
    assert out["due_at"] == t.due_at + timedelta(hours=6)


def test_assign_without_owner_is_a_conflict(sconn: Connection, ctx: IntakeContext) -> None:
    [t] = intake(sconn, ctx, [body(lon=121.6, lat=31.3)], now=NOW)
    assert t.id is not None and t.status == "reported"
    with pytest.raises(Conflict) as caught:
        transition(sconn, t.id, to="assigned", actor="调度")
    assert "location" in caught.value.reason


def test_event_location_is_kept(sconn: Connection, ctx: IntakeContext) -> None:
    [t] = intake(sconn, ctx, [body()], now=NOW)
    assert t.id is not None
    transition(sconn, t.id, to="in_progress", actor="李强", lon=121.3926, lat=31.2426)
    last = get_incident(sconn, t.id)["properties"]["timeline"][-1]
    assert last["location"] == {"lon": 121.3926, "lat": 31.2426}
    assert datetime.fromisoformat(last["at"]) <= datetime.now(UTC)
