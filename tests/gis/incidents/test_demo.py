"""The demo street's 90-day incident history: every state, overdue ones, duplicates,
address-only reports resolved through the demo gazetteer, and the same rows every time."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text

from gis.incidents.demo import DAYS, load_demo_incidents
from gis.store.db import make_engine
from gis.store.models import INCIDENT_STATES, INCIDENTS
from tests.gis.incidents.facts_check import assert_facts_current
from tests.gis.test_demo_load import wangge


def test_demo_history(
    new_database: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = new_database()
    monkeypatch.setenv("WANGGE_DATABASE_URL", url)
    wangge(["demo", "load"], monkeypatch)
    out = capsys.readouterr().out
    assert "incidents:" in out
    engine = make_engine(url)
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                select(INCIDENTS.c.status, func.count()).group_by(INCIDENTS.c.status)
            ).all()
        )
        total = sum(states.values())
        assert total >= 3000
        assert set(states) == set(INCIDENT_STATES)
        assert states["closed"] > total / 2
        dups = conn.execute(select(func.count()).where(INCIDENTS.c.duplicate_of.is_not(None)))
        assert dups.scalar_one() > 50
        by_address = conn.execute(
            select(INCIDENTS.c.location_status, func.count())
            .where(INCIDENTS.c.input_lon.is_(None))
            .group_by(INCIDENTS.c.location_status)
        )
        located = dict(by_address.all())
        assert located["ok"] > 200 and located["needs_review"] > 10
        span = conn.execute(
            select(func.max(INCIDENTS.c.reported_at) - func.min(INCIDENTS.c.reported_at))
        ).scalar_one()
        assert DAYS - 2 <= span.days <= DAYS
        late = conn.execute(
            select(func.count()).where(
                INCIDENTS.c.due_at < func.coalesce(INCIDENTS.c.resolved_at, func.now())
            )
        ).scalar_one()
        assert 0 < late < total / 4
        # every incident's timeline ends in its current state
        last = conn.execute(
            text(
                "SELECT DISTINCT ON (i.id) i.status, e.to_status FROM incidents i "
                "JOIN incident_events e ON e.incident_id = i.id WHERE e.to_status IS NOT NULL "
                "ORDER BY i.id, e.at DESC, e.id DESC"
            )
        ).all()
        assert all(status == to for status, to in last)
        assert assert_facts_current(conn) == total  # the stats facts (issue 13 performance)
    again = load_demo_incidents(engine)
    engine.dispose()
    assert again.created == 0 and again.existing == total
