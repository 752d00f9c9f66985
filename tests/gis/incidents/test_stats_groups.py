"""The groupings of issue 25 (week, month, department, source, status, every area level),
on-time rate, the source filter and compare=previous: each equal to a direct SQL GROUP BY
written here, on a history of incidents with every kind of lifecycle."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Connection, text

from gis.incidents.intake import IntakeContext, intake
from gis.incidents.lifecycle import transition
from gis.incidents.query import Filters
from gis.incidents.stats import GROUPS, stats, trend
from gis.store.models import INCIDENT_SOURCES
from tests.gis.incidents.conftest import NOW, body
from tests.gis.incidents.facts_check import assert_facts_current

CATS = ["garbage", "noise", "water_leak", "standing_water", "ebike_charging"]
TZ = "Asia/Shanghai"


@pytest.fixture
def history(sconn: Connection, ctx: IntakeContext) -> Connection:
    rng = random.Random(25)
    bodies = []
    for _ in range(260):
        at = NOW - timedelta(hours=rng.uniform(1, 24 * 75))
        bodies.append(
            body(
                category=rng.choice(CATS),
                source=rng.choice(INCIDENT_SOURCES),
                lon=121.39 + rng.uniform(-0.002, 0.022),  # some outside the street
                lat=31.24 + rng.uniform(0, 0.02),
                reported_at=at.isoformat(),
            )
        )
    taken = intake(sconn, ctx, bodies, now=NOW, assign_at="reported")
    for t, b in zip(taken, bodies, strict=True):
        assert t.id is not None
        if t.status != "assigned":
            continue
        at = pd.Timestamp(str(b["reported_at"])).to_pydatetime()
        roll = rng.random()
        path = (
            ["in_progress", "resolved", "closed"]
            if roll < 0.5
            else ["in_progress", "resolved"]
            if roll < 0.7
            else ["in_progress"]
            if roll < 0.8
            else ["returned"]
            if roll < 0.85
            else []
        )
        for to in path:
            at = at + timedelta(hours=rng.uniform(0.1, 30))
            transition(sconn, t.id, to=to, actor="测试", at=min(at, NOW))
    return sconn


_LATER = "date_part('epoch', {later} - i.reported_at)"
_LEVEL_KEY = (
    "(SELECT min(a.code) FROM areas a WHERE a.code = ANY(i.area_codes) AND a.level = '{level}')"
)
_KEYS = {
    "week": "to_char(date_trunc('week', timezone(:tz, i.reported_at)), 'YYYY-MM-DD')",
    "month": "to_char(timezone(:tz, i.reported_at), 'YYYY-MM')",
    "day": "to_char(timezone(:tz, i.reported_at), 'YYYY-MM-DD')",
    "department": "nullif(k.department, '')",
    "source": "i.source",
    "status": "i.status",
    "category": "i.category",
    "area": "i.owner_code",
}


def direct(conn: Connection, group_by: str, where: str = "true", **params: Any) -> dict:
    """The reference: one GROUP BY over incidents (percentile_cont, grouping sets)."""
    key = _KEYS.get(group_by) or _LEVEL_KEY.format(level=group_by)
    a, r = _LATER.format(later="i.assigned_at"), _LATER.format(later="i.resolved_at")
    rows = conn.execute(
        text(
            f"SELECT {key} AS key, grouping({key}) AS is_total, count(*) AS count, "
            "count(i.resolved_at) AS resolved, "
            "count(*) FILTER (WHERE i.resolved_at <= i.due_at) AS on_time, "
            "count(*) FILTER (WHERE i.due_at < coalesce(i.resolved_at, i.closed_at, :now)) "
            "AS overdue, "
            "count(*) FILTER (WHERE i.status NOT IN ('resolved', 'closed')) AS open, "
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {a}) AS assign_median_s, "
            f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {r}) AS resolve_p90_s "
            "FROM incidents i LEFT JOIN incident_categories k ON k.code = i.category "
            f"WHERE {where} GROUP BY GROUPING SETS (({key}), ())"
        ),
        {"tz": TZ, "now": NOW, **params},
    )
    return {("total" if row.is_total else row.key): row._asdict() for row in rows}


def same(expected: dict, got: dict) -> None:
    for name in ("count", "resolved", "on_time", "overdue", "open"):
        assert got[name] == expected[name], name
    for name in ("assign_median_s", "resolve_p90_s"):
        value = expected[name]
        assert got[name] == (None if value is None else round(value, 1)), name
    resolved = expected["resolved"]
    rate = round(expected["on_time"] / resolved, 4) if resolved else None
    assert got["on_time_rate"] == rate


def check(expected: dict, got: dict) -> None:
    same(expected["total"], got["total"])
    keys = sorted((k for k in expected if k != "total"), key=lambda k: (k is None, k or ""))
    assert [g["key"] for g in got["groups"]] == keys
    for group in got["groups"]:
        same(expected[group["key"]], group)


NEW_GROUPS = [
    "week",
    "month",
    "department",
    "source",
    "status",
    "street",
    "community",
    "grid",
    "micro_grid",
]


def test_every_grouping_is_offered() -> None:
    assert set(NEW_GROUPS) <= set(GROUPS)


@pytest.mark.parametrize("group_by", [*NEW_GROUPS, "category", "area", "day"])
def test_grouping_equals_direct_sql(history: Connection, group_by: str) -> None:
    expected = direct(history, group_by)
    assert len(expected) > 1 and expected["total"]["count"] == 260
    check(expected, stats(history, Filters(), group_by=group_by, timezone=TZ, now=NOW))
    # the bbox path (a direct scan of incidents) says the same
    from gis.areas.query import BBox

    wide = Filters(bbox=BBox(121.0, 31.0, 122.0, 32.0))
    check(expected, stats(history, wide, group_by=group_by, timezone=TZ, now=NOW))


@pytest.mark.parametrize("group_by", ["source", "grid", "week", "department"])
def test_filtered_grouping_equals_direct_sql(history: Connection, group_by: str) -> None:
    start, end = NOW - timedelta(days=40), NOW - timedelta(days=3)
    filters = (
        Filters(area="G1", source=("hotline", "camera"), start=start, end=end, status=("closed",))
        if group_by == "week"
        else Filters(area="G1", source=("hotline", "camera"), start=start)
    )
    where = "i.area_codes @> ARRAY['G1'] AND i.source IN ('hotline', 'camera') "
    where += "AND i.reported_at >= :start"
    if group_by == "week":
        where += " AND i.reported_at < :end AND i.status = 'closed'"
    expected = direct(history, group_by, where, start=start, end=end)
    check(expected, stats(history, filters, group_by=group_by, timezone=TZ, now=NOW))


def test_compare_previous(history: Connection) -> None:
    start, end = NOW - timedelta(days=14), NOW
    got = stats(
        history,
        Filters(start=start, end=end),
        group_by="grid",
        timezone=TZ,
        now=NOW,
        compare="previous",
    )
    where = "i.reported_at >= :start AND i.reported_at < :end"
    check(direct(history, "grid", where, start=start, end=end), got)
    before = direct(history, "grid", where, start=start - timedelta(days=14), end=start)
    check(before, got["previous"])
    assert got["previous"]["to"] == start.isoformat()
    assert got["period"] == {"from": start.isoformat(), "to": end.isoformat()}


def test_compare_needs_a_period(history: Connection) -> None:
    from gis.errors import InvalidInput

    with pytest.raises(InvalidInput) as e:
        stats(history, Filters(), group_by="grid", now=NOW, compare="previous")
    assert e.value.field == "compare"


def test_trend_counts_per_bucket_and_category(history: Connection) -> None:
    got = trend(history, Filters(), bucket="week", timezone=TZ, now=NOW)
    rows = history.execute(
        text(
            f"SELECT {_KEYS['week']} AS k, i.category, count(*) AS n, count(i.resolved_at) AS r "
            "FROM incidents i GROUP BY 1, 2"
        ),
        {"tz": TZ},
    ).all()
    expected = {(r.k, r.category): (r.n, r.r) for r in rows}
    seen = {}
    for ci, cat in enumerate(got["categories"]):
        for ki, key in enumerate(got["keys"]):
            if got["reported"][ci][ki]:
                seen[(key, cat)] = (got["reported"][ci][ki], got["resolved"][ci][ki])
    assert seen == expected


def test_facts_carry_state_and_source(history: Connection) -> None:
    assert assert_facts_current(history, NOW) == 260
