"""The outbox (gis/events, migration 0019): every incident change writes its event in its
own transaction, whatever path wrote it; ids become visible in commit order even with
concurrent writers; the overdue sweep writes each passing due time once."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update

from gis.access import Scope
from gis.assign.service import Assigner
from gis.errors import InvalidInput
from gis.events.outbox import emit, photo_added, sweep_overdue
from gis.events.reading import EventFilter, read_events, shown
from gis.incidents.intake import IntakeContext, intake
from gis.incidents.lifecycle import transition
from gis.incidents.relocate import link_duplicate, relocate
from gis.incidents.service import submit
from gis.incidents.worktime import WorkCalendar
from gis.store.db import make_engine
from gis.store.models import EVENTS, INCIDENTS
from tests.fixtures import HALF, X0, Y0, small_street_with_categories
from tests.gis.incidents.conftest import body

M1 = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}
M4 = {"lon": X0 + 1.5 * HALF, "lat": Y0 + 1.5 * HALF}


@pytest.fixture
def street(new_database: Callable[[], str], tmp_path: Path) -> Iterator[Engine]:
    url = new_database()
    small_street_with_categories(url, tmp_path)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def context(street: Engine) -> IntakeContext:
    return IntakeContext(Assigner(street, check_seconds=0), WorkCalendar())


def events(engine: Engine, **kw: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [shown(r) for r in read_events(conn, EventFilter(**kw), limit=1000)]


def test_every_incident_change_writes_its_event_in_order(
    street: Engine, context: IntakeContext
) -> None:
    feature, created = submit(street, context, body(**M1, external_id="ev-1"))
    assert created
    ident = feature["id"]
    with street.begin() as conn:
        transition(conn, ident, to="in_progress", actor="王芳")
    with street.begin() as conn:
        relocate(conn, context, ident, dict(M4), actor="王芳")
    other, _ = submit(street, context, body(**M4, category="noise", external_id="ev-2"))
    with street.begin() as conn:
        link_duplicate(conn, ident, of=other["id"], actor="王芳")
    with street.begin() as conn:
        photo_added(conn, ident, url="https://example.org/p.jpg", actor="王芳")
    mine = [
        e for e in events(street) if e["type"].startswith("incident.") and e["data"]["id"] == ident
    ]
    assert [e["type"] for e in mine] == [
        "incident.created",
        "incident.assigned",
        "incident.transition",
        "incident.relocated",
        "incident.duplicate_linked",
        "incident.photo_added",
    ]
    ids = [e["id"] for e in events(street)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    created_event = mine[0]["data"]
    assert created_event["category"] == "garbage" and created_event["owner_code"] == "M1"
    assert created_event["area_codes"] == ["S", "G1", "M1"]
    assert "reporter_phone" not in created_event and "reporter_name" not in created_event
    assert mine[2]["data"]["change"]["from"] == "assigned"
    assert mine[2]["data"]["change"]["to"] == "in_progress"
    assert mine[3]["data"]["owner_code"] == "M4"  # the summary as of that change
    assert mine[4]["data"]["duplicate_of"] == other["id"]
    assert mine[5]["data"]["change"]["details"] == {"url": "https://example.org/p.jpg"}
    assert mine[0]["at"].endswith("+00:00")


def test_batch_intake_and_a_rolled_back_change_write_events_only_when_committed(
    street: Engine, context: IntakeContext
) -> None:
    bodies = [body(**M1, external_id=f"batch-{i}") for i in range(60)]  # COPY path (> 50)
    with street.begin() as conn:
        taken = intake(conn, context, bodies)
    created = {t.id for t in taken}
    assert created <= {e["data"]["id"] for e in events(street, types=("incident.created",))}
    before = events(street)
    with street.connect() as conn, conn.begin() as tx:
        transition(conn, next(iter(created)), to="in_progress", actor="x")
        tx.rollback()
    assert events(street) == before


def test_scope_and_area_select_events(street: Engine, context: IntakeContext) -> None:
    submit(street, context, body(**M1, external_id="s-1"))
    submit(street, context, body(**M4, external_id="s-4"))
    with street.begin() as conn:
        emit(conn, "generation.activated", {"id": 9})
    owners = {e["data"].get("owner_code") for e in events(street, scope=Scope(area="G1"))}
    assert owners == {"M1"}
    assert {e["data"].get("owner_code") for e in events(street, area="M4")} == {"M4"}
    assert "generation.activated" not in {e["type"] for e in events(street, scope=Scope(area="S"))}
    assert "generation.activated" in {e["type"] for e in events(street)}
    with pytest.raises(InvalidInput) as bad:
        EventFilter.parse(types="incident.nope")
    assert bad.value.field == "types"


def test_overdue_sweep_writes_each_passing_due_time_once(
    street: Engine, context: IntakeContext
) -> None:
    feature, _ = submit(street, context, body(**M1, external_id="late-1"))
    with street.begin() as conn:  # its due time passes, after the last sweep
        conn.execute(text("UPDATE event_sweeps SET upto = now() - interval '1 hour'"))
        conn.execute(
            update(INCIDENTS)
            .where(INCIDENTS.c.id == feature["id"])
            .values(due_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    with street.begin() as conn:
        assert sweep_overdue(conn) == 1
    with street.begin() as conn:
        assert sweep_overdue(conn) == 0
    late = events(street, types=("incident.overdue",))
    assert [e["data"]["id"] for e in late] == [feature["id"]]


def test_generation_activation_writes_its_event(street: Engine) -> None:
    activated = events(street, types=("generation.activated",))
    assert [e["data"]["id"] for e in activated] == [1]  # the fixture activated generation 1


def test_ids_become_visible_in_commit_order_under_concurrent_writers(
    street: Engine, context: IntakeContext
) -> None:
    """Writers hold their transactions open for random times after taking ids; a reader
    that polls with ``after`` (as every client does) must still see every event: an id is
    never visible before a lower one that will commit."""
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        rng = random.Random(n)
        try:
            for i in range(15):
                with street.begin() as conn:
                    emit(conn, "coverage.report", {"id": f"w{n}-{i}"})
                    time.sleep(rng.uniform(0, 0.02))  # commit later, in any order
                if n % 2:
                    submit(street, context, body(**M1, external_id=f"c-{n}-{i}"))
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        after = 0
        while not stop.is_set():
            got = events(street, after=after)
            seen.extend(e["id"] for e in got)
            after = got[-1]["id"] if got else after
            time.sleep(0.001)
        got = events(street, after=after)
        seen.extend(e["id"] for e in got)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    watching = threading.Thread(target=reader)
    watching.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watching.join()
    assert not errors
    with street.connect() as conn:
        everything = [r.id for r in conn.execute(select(EVENTS.c.id).order_by(EVENTS.c.id))]
    assert seen == everything
    assert len(everything) >= 6 * 15
