"""Relocation records both owners; duplicates can be merged or unlinked; racing retries."""

from __future__ import annotations

import threading

from sqlalchemy import Connection, Engine, delete, func, select

from gis.incidents.intake import IntakeContext, intake
from gis.incidents.query import get_incident
from gis.incidents.relocate import link_duplicate, relocate
from gis.store.models import INCIDENTS
from tests.gis.incidents.conftest import NOW, body


def test_relocation_reassigns_and_records_both_owners(
    sconn: Connection, ctx: IntakeContext
) -> None:
    [t] = intake(sconn, ctx, [body()], now=NOW)
    assert t.id is not None and t.owner_code == "M1"
    out = relocate(sconn, ctx, t.id, {"lon": 121.4075, "lat": 31.2575}, actor="调度")
    assert out["from"]["owner_code"] == "M1" and out["to"]["owner_code"] == "M4"
    props = get_incident(sconn, t.id)["properties"]
    assert props["owner"]["code"] == "M4" and props["chain"][-1]["code"] == "M4"
    moved = props["timeline"][-1]
    assert moved["kind"] == "relocated" and moved["details"]["from"]["owner_code"] == "M1"


def test_merge_and_unlink(sconn: Connection, ctx: IntakeContext) -> None:
    a, b, c = intake(
        sconn, ctx, [body(), body(category="noise"), body(category="water_leak")], now=NOW
    )
    assert a.id and b.id and c.id
    link_duplicate(sconn, b.id, of=a.id, actor="王芳")
    merged = link_duplicate(sconn, c.id, of=b.id, actor="王芳", close=True)
    assert merged == {"id": c.id, "duplicate_of": a.id, "status": "closed"}  # to the root
    unlinked = link_duplicate(sconn, b.id, of=None, actor="王芳")
    assert unlinked["duplicate_of"] is None
    row = sconn.execute(select(INCIDENTS.c.duplicate_of).where(INCIDENTS.c.id == b.id))
    assert row.scalar_one() is None


def test_racing_retries_store_one_incident(street_engine: Engine, ctx: IntakeContext) -> None:
    results: list[int | None] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        barrier.wait()
        with street_engine.begin() as conn:
            [t] = intake(conn, ctx, [body(external_id="race-1")], now=NOW)
            results.append(t.id)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        with street_engine.connect() as conn:
            stored = conn.execute(
                select(func.count()).where(INCIDENTS.c.external_id == "race-1")
            ).scalar_one()
        assert stored == 1 and len(set(results)) == 1 and results[0] is not None
    finally:
        with street_engine.begin() as conn:
            conn.execute(delete(INCIDENTS).where(INCIDENTS.c.external_id == "race-1"))
