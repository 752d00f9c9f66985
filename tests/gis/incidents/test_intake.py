"""Intake: assignment snapshot, review queue, duplicates, retries by external_id."""

from __future__ import annotations

from sqlalchemy import Connection, select

from gis.incidents.intake import IntakeContext, intake
from gis.store.models import INCIDENT_EVENTS, INCIDENTS
from tests.gis.incidents.conftest import NOW, body


def test_point_is_assigned_with_snapshot(sconn: Connection, ctx: IntakeContext) -> None:
    [taken] = intake(sconn, ctx, [body(external_id="call-1")], now=NOW)
    assert taken.created and taken.error is None
    row = sconn.execute(select(INCIDENTS).where(INCIDENTS.c.id == taken.id)).one()
    assert row.status == "assigned" and row.owner_code == "M1" and row.generation == 1
    assert row.area_codes == ["S", "G1", "M1"]
    assert [s["code"] for s in row.staff] == ["P1", "P2"]
    assert row.location_status == "ok" and row.assigned_at == NOW
    kinds = sconn.execute(
        select(INCIDENT_EVENTS.c.to_status).where(INCIDENT_EVENTS.c.incident_id == taken.id)
    ).scalars()
    assert sorted(kinds) == ["assigned", "reported"]


def test_same_external_id_answers_the_existing_incident(
    sconn: Connection, ctx: IntakeContext
) -> None:
    [first] = intake(sconn, ctx, [body(external_id="retry-1")], now=NOW)
    [again, twice] = intake(
        sconn, ctx, [body(external_id="retry-1"), body(external_id="retry-1")], now=NOW
    )
    assert not again.created and again.id == first.id and twice.id == first.id
    count = sconn.execute(select(INCIDENTS.c.id).where(INCIDENTS.c.external_id == "retry-1")).all()
    assert len(count) == 1


def test_repeat_inside_one_batch_is_one_incident(sconn: Connection, ctx: IntakeContext) -> None:
    a, b = intake(sconn, ctx, [body(external_id="x"), body(external_id="x")], now=NOW)
    assert a.created and not b.created and a.id == b.id


def test_point_outside_every_area_is_kept_for_review(sconn: Connection, ctx: IntakeContext) -> None:
    [t] = intake(sconn, ctx, [body(lon=121.5, lat=31.3)], now=NOW)
    assert t.created and t.status == "reported" and t.location_status == "needs_review"
    row = sconn.execute(select(INCIDENTS).where(INCIDENTS.c.id == t.id)).one()
    assert row.owner_code is None and "outside every micro_grid" in row.review_reason


def test_unresolved_address_is_stored_not_refused(sconn: Connection, ctx: IntakeContext) -> None:
    b = body(address="不存在路1号")
    del b["lon"], b["lat"]
    [t] = intake(sconn, ctx, [b], now=NOW)
    assert t.created and t.location_status == "needs_review" and t.owner_code is None
    row = sconn.execute(select(INCIDENTS).where(INCIDENTS.c.id == t.id)).one()
    assert row.address == "不存在路1号" and row.geom is None


def test_bad_items_get_errors_in_order_others_are_taken(
    sconn: Connection, ctx: IntakeContext
) -> None:
    results = intake(
        sconn,
        ctx,
        [body(), body(category="nope"), {"category": "garbage"}, body(lat=95.0), body()],
        now=NOW,
    )
    assert [r.error["field"] if r.error else None for r in results] == [
        None,
        "category",
        "location",
        None,
        None,
    ]
    assert results[3].location_status == "needs_review"


def test_gcj02_input_is_converted(sconn: Connection, ctx: IntakeContext) -> None:
    from gis.crs import wgs84_to_gcj02

    x, y = wgs84_to_gcj02(lon=121.3925, lat=31.2425)
    [t] = intake(sconn, ctx, [body(lon=float(x), lat=float(y), crs="gcj02")], now=NOW)
    assert t.owner_code == "M1"


def test_duplicates_are_linked_not_dropped(sconn: Connection, ctx: IntakeContext) -> None:
    # garbage: 50 m, 24 h. 0.0003° of latitude ≈ 33 m
    a, b, c, d, e = intake(
        sconn,
        ctx,
        [
            body(),
            body(lat=31.2428),
            body(lat=31.2440),  # ≈ 166 m away: not a duplicate
            body(category="noise"),  # another category
            body(reported_at="2026-11-21T09:30:00+08:00"),  # 48 h earlier
        ],
        now=NOW,
    )
    assert a.duplicate_of is None and b.duplicate_of == a.id
    assert c.duplicate_of is None and d.duplicate_of is None and e.duplicate_of is None
    [f] = intake(sconn, ctx, [body(lon=121.3926)], now=NOW)
    assert f.duplicate_of == a.id
    stored = sconn.execute(select(INCIDENTS.c.id).where(INCIDENTS.c.duplicate_of == a.id)).all()
    assert len(stored) == 2


def test_messy_address_is_geocoded_and_assigned(sconn: Connection, ctx: IntakeContext) -> None:
    b = body(address="上海市普陀区测试路五号门口", district="普陀区")
    del b["lon"], b["lat"]
    [t] = intake(sconn, ctx, [b], now=NOW)
    assert t.location_status == "ok" and t.owner_code == "M4" and t.status == "assigned"
    row = sconn.execute(select(INCIDENTS).where(INCIDENTS.c.id == t.id)).one()
    assert row.geocode["standard_address"].startswith("测试路5号")
    assert row.address == "上海市普陀区测试路五号门口"  # what the caller sent is kept


def test_number_missing_on_the_road_goes_to_review(sconn: Connection, ctx: IntakeContext) -> None:
    b = body(address="测试路7号", district="普陀区")
    del b["lon"], b["lat"]
    [t] = intake(sconn, ctx, [b], now=NOW)
    assert t.created and t.location_status == "needs_review" and t.owner_code is None
    row = sconn.execute(select(INCIDENTS).where(INCIDENTS.c.id == t.id)).one()
    assert row.geom is None and "not resolved" in row.review_reason
