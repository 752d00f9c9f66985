"""The statistics facts (issue 13): current after every write path, read by the next stats
call in another transaction, and the local days of any time zone equal PostgreSQL's."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Connection, Engine, text

from gis.areas.query import BBox
from gis.incidents.facts import local_days
from gis.incidents.intake import IntakeContext, intake
from gis.incidents.lifecycle import transition
from gis.incidents.query import Filters
from gis.incidents.relocate import link_duplicate, relocate
from gis.incidents.stats import stats
from tests.gis.incidents.conftest import NOW, body
from tests.gis.incidents.facts_check import assert_facts_current


def _bodies(n: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [
        body(
            category=rng.choice(["garbage", "noise", "water_leak"]),
            lon=121.39 + rng.uniform(-0.002, 0.022),  # some outside the street: no owner
            lat=31.24 + rng.uniform(0, 0.02),
            reported_at=(NOW - timedelta(hours=rng.uniform(1, 24 * 30))).isoformat(),
        )
        for _ in range(n)
    ]


def test_facts_follow_every_write(sconn: Connection, ctx: IntakeContext) -> None:
    n = assert_facts_current(sconn, NOW)  # other tests' committed incidents, if any
    single = [intake(sconn, ctx, [b], now=NOW)[0] for b in _bodies(5, 1)]
    assert assert_facts_current(sconn, NOW) == n + 5
    batch = intake(sconn, ctx, _bodies(120, 2), now=NOW, assign_at="reported")  # COPY path
    assert assert_facts_current(sconn, NOW) == n + 125
    address = body(address="测试路5号", district="普陀区", lon=None, lat=None)
    unknown = body(address="无名路8号", district="普陀区", lon=None, lat=None)
    located, review = intake(sconn, ctx, [address, unknown], now=NOW)
    assert review.id is not None and located.id is not None
    assert_facts_current(sconn, NOW)
    ids = [t.id for t in single + batch if t.id is not None and t.status == "assigned"]
    # every transition (and so every state, open or not) on the way
    for to in ("in_progress", "resolved", "reopened", "resolved", "closed"):
        transition(sconn, ids[0], to=to, actor="测试", at=NOW)
    transition(sconn, ids[1], to="suspended", actor="测试", at=NOW)
    transition(sconn, ids[2], to="extended", actor="测试", note="待配件", at=NOW)
    transition(sconn, ids[3], to="returned", actor="测试", at=NOW)
    assert_facts_current(sconn, NOW)
    relocate(sconn, ctx, ids[4], {"lon": 121.4075, "lat": 31.2575}, actor="调度")
    relocate(sconn, ctx, review.id, {"lon": 121.3925, "lat": 31.2425}, actor="调度")
    assert_facts_current(sconn, NOW)
    link_duplicate(sconn, ids[5], of=ids[6], actor="王芳")
    link_duplicate(sconn, ids[7], of=ids[5], actor="王芳", close=True)  # merged to the root
    link_duplicate(sconn, ids[5], of=None, actor="王芳")
    assert_facts_current(sconn, NOW)
    # raw SQL writes too: an update of the snapshot, a delete, an empty table
    unowned = "UPDATE incidents SET owner_code = NULL, area_codes = '{}' WHERE id = :i"
    sconn.execute(text(unowned), {"i": ids[8]})
    sconn.execute(text("UPDATE incidents SET category = 'noise', due_at = due_at - interval '9 d'"))
    sconn.execute(text("DELETE FROM incidents WHERE id = :i"), {"i": ids[9]})
    assert assert_facts_current(sconn, NOW) == n + 126
    sconn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # the deferred duplicate_of checks
    sconn.execute(text("TRUNCATE incidents CASCADE"))
    assert assert_facts_current(sconn, NOW) == 0
    assert stats(sconn, Filters(), now=NOW)["total"]["count"] == 0


def test_stats_never_stale_across_transactions(street_engine: Engine, ctx: IntakeContext) -> None:
    """A stats call in a new transaction right after each committed write reflects it."""
    tag = "fresh-facts"
    mine = Filters(category=("standing_water",))

    def figures() -> dict[str, object]:
        with street_engine.connect() as conn:
            return stats(conn, mine, group_by="area", now=NOW)["total"]

    try:
        before = figures()
        with street_engine.begin() as conn:
            [t] = intake(conn, ctx, [body(category="standing_water", external_id=tag)], now=NOW)
        assert t.id is not None
        after = figures()
        assert after["count"] == before["count"] + 1 and after["open"] == before["open"] + 1
        for to in ("in_progress", "resolved"):
            with street_engine.begin() as conn:
                transition(conn, t.id, to=to, actor="测试", at=NOW)
        resolved = figures()
        assert resolved["resolved"] == after["resolved"] + 1
        assert resolved["open"] == before["open"]
        with street_engine.begin() as conn:
            conn.execute(text("DELETE FROM incidents WHERE id = :i"), {"i": t.id})
        assert figures() == before
    finally:
        with street_engine.begin() as conn:
            conn.execute(text("DELETE FROM incidents WHERE external_id = :t"), {"t": tag})


def test_concurrent_writers_share_new_cells(street_engine: Engine, ctx: IntakeContext) -> None:
    """Four transactions storing incidents of the same new (category, owner) cells at once:
    all stored, one cell each, no deadlock."""
    tag = "cells-race"
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def post(k: int) -> None:
        items = _bodies(8, 40 + k)
        for j, b in enumerate(items):
            b.update(category="thrown_from_height", external_id=f"{tag}-{k}-{j}")
        try:
            with street_engine.begin() as conn:
                barrier.wait()
                intake(conn, ctx, items[::-1] if k % 2 else items, now=NOW)
        except BaseException as e:  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=post, args=(k,)) for k in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with street_engine.connect() as conn:
            cells = conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT (owner_code, area_codes)) "
                    "FROM incident_fact_cells WHERE category = 'thrown_from_height'"
                )
            ).one()
            assert cells[0] == cells[1] > 0
            assert assert_facts_current(conn, NOW) >= 32
    finally:
        with street_engine.begin() as conn:
            conn.execute(text("DELETE FROM incidents WHERE external_id LIKE :t"), {"t": tag + "%"})


def test_bbox_filter_takes_the_direct_path(sconn: Connection, ctx: IntakeContext) -> None:
    intake(sconn, ctx, _bodies(40, 3), now=NOW)
    box = BBox(121.388, 31.24, 121.40, 31.25)
    inside = sconn.execute(
        text(
            "SELECT count(*) FROM incidents "
            "WHERE geom && ST_MakeEnvelope(121.388, 31.24, 121.40, 31.25, 4326)"
        )
    ).scalar_one()
    got = stats(sconn, Filters(bbox=box), group_by="day", now=NOW)
    assert got["total"]["count"] == inside > 0


ZONES = ["Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]


@pytest.mark.parametrize("zone", ZONES)
def test_local_days_equal_postgresql(sconn: Connection, zone: str) -> None:
    rng = np.random.default_rng(len(zone))
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
    spread = rng.integers(0, 2 * 365 * 86_400 * 1_000_000, 4000)
    # around every local midnight and DST change of two years, plus Shanghai's 1900 LMT
    edges = np.array(
        [start + k * 900_000_000 + d for k in range(0, 2 * 365 * 96, 97) for d in (-1, 0, 1)]
    )
    lmt = int(datetime(1900, 6, 1, 15, 54, 17, tzinfo=UTC).timestamp()) * 1_000_000
    us = np.concatenate([start + spread, edges, [lmt - 1, lmt, lmt + 1]]).astype(np.int64)
    days, index = local_days(sconn, us, zone)
    expected = sconn.execute(
        text(
            "SELECT array_agg(date(timezone(:tz, to_timestamp(0) + v * interval '1 microsecond'))"
            " - date '1970-01-01' ORDER BY k) FROM unnest(CAST(:us AS int8[])) "
            "WITH ORDINALITY AS u(v, k)"
        ),
        {"tz": zone, "us": us.tolist()},
    ).scalar_one()
    assert days[index].tolist() == expected
    assert days.tolist() == sorted(set(expected))
