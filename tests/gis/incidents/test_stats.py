"""/v1/stats figures computed in SQL equal a pandas computation over the same rows."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, text

from gis.incidents.intake import IntakeContext, intake
from gis.incidents.lifecycle import OPEN_STATES, transition
from gis.incidents.query import Filters
from gis.incidents.stats import percentiles, stats
from tests.gis.incidents.conftest import NOW, body

CATS = ["garbage", "noise", "water_leak", "standing_water"]


@pytest.fixture
def history(sconn: Connection, ctx: IntakeContext) -> Connection:
    rng = random.Random(7)
    bodies = []
    for _ in range(300):
        at = NOW - timedelta(hours=rng.uniform(1, 24 * 20))
        bodies.append(
            body(
                category=rng.choice(CATS),
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
        start = pd.Timestamp(str(b["reported_at"])).to_pydatetime()
        roll = rng.random()
        path = (
            ["in_progress", "resolved", "closed"]
            if roll < 0.6
            else ["in_progress", "resolved"]
            if roll < 0.75
            else ["in_progress"]
            if roll < 0.9
            else []
        )
        at = start
        for to in path:
            at = at + timedelta(hours=rng.uniform(0.1, 40))
            transition(sconn, t.id, to=to, actor="测试", at=min(at, NOW))
    return sconn


def _pandas(df: pd.DataFrame, key: str | None) -> pd.DataFrame:
    df = df.copy()
    df["assign_s"] = (df.assigned_at - df.reported_at).dt.total_seconds()
    df["resolve_s"] = (df.resolved_at - df.reported_at).dt.total_seconds()
    end = df.resolved_at.fillna(df.closed_at).fillna(pd.Timestamp(NOW))
    df["late"] = df.due_at < end
    df["is_open"] = df.status.isin(OPEN_STATES)
    groups = df.groupby(key, dropna=False) if key else df.groupby(lambda _: "total")
    return groups.agg(
        count=("id", "size"),
        resolved=("resolved_at", "count"),
        open=("is_open", "sum"),
        overdue=("late", "sum"),
        assign_median_s=("assign_s", "median"),
        assign_p90_s=("assign_s", lambda s: s.quantile(0.9)),
        resolve_median_s=("resolve_s", "median"),
        resolve_p90_s=("resolve_s", lambda s: s.quantile(0.9)),
    )


FIGURES = ["count", "resolved", "open", "overdue"]
TIMES = ["assign_median_s", "assign_p90_s", "resolve_median_s", "resolve_p90_s"]


def _check(expected: pd.Series, got: dict[str, object]) -> None:
    for name in FIGURES:
        assert got[name] == int(expected[name]), name
    for name in TIMES:
        value = expected[name]
        if np.isnan(value):
            assert got[name] is None, name
        else:
            assert got[name] == pytest.approx(value, abs=0.06), name
    assert got["resolution_rate"] == pytest.approx(expected["resolved"] / expected["count"], 1e-3)


@pytest.mark.parametrize("group_by", ["category", "area", "day"])
def test_stats_match_pandas(history: Connection, group_by: str) -> None:
    df = pd.read_sql(text("SELECT * FROM incidents"), history)
    assert len(df) == 300 and df.resolved_at.notna().sum() > 50
    df["area"] = df.owner_code
    df["day"] = df.reported_at.dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d")
    got = stats(history, Filters(), group_by=group_by, now=NOW)
    _check(_pandas(df, None).iloc[0], got["total"])
    expected = _pandas(df, group_by)
    assert len(got["groups"]) == len(expected)
    for group in got["groups"]:
        key = group["key"]
        row = expected.loc[key] if key is not None else expected[expected.index.isna()].iloc[0]
        _check(row, group)


def test_stats_filter_by_area_and_time(history: Connection) -> None:
    start, end = NOW - timedelta(days=10), NOW - timedelta(days=2)
    df = pd.read_sql(text("SELECT * FROM incidents"), history)
    keep = df.area_codes.map(lambda codes: "G1" in codes) & df.reported_at.between(
        pd.Timestamp(start), pd.Timestamp(end), inclusive="left"
    )
    got = stats(history, Filters(area="G1", start=start, end=end), group_by="area", now=NOW)
    _check(_pandas(df[keep], None).iloc[0], got["total"])
    assert {g["key"] for g in got["groups"]} == {"M1", "M3"}


# -- the numpy percentiles are percentile_cont's, bit for bit (issue 13 performance) ---------

_SECONDS = "date_part('epoch', {later} - reported_at)"
_KEYS = {
    "category": "category",
    "area": "owner_code",
    "day": "to_char(timezone('Asia/Shanghai', reported_at), 'YYYY-MM-DD')",
}


def _direct_sql(conn: Connection, group_by: str, where: str, params: dict[str, object]) -> dict:
    """The figures straight from SQL (percentile_cont, grouping sets): the reference."""
    a, r = _SECONDS.format(later="assigned_at"), _SECONDS.format(later="resolved_at")
    key = _KEYS[group_by]
    rows = conn.execute(
        text(
            f"SELECT {key} AS key, grouping({key}) AS is_total, count(*) AS count, "
            "count(resolved_at) AS resolved, count(duplicate_of) AS duplicates, "
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {a}) AS assign_median_s, "
            f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {a}) AS assign_p90_s, "
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {r}) AS resolve_median_s, "
            f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {r}) AS resolve_p90_s "
            f"FROM incidents WHERE {where} GROUP BY GROUPING SETS (({key}), ())"
        ),
        params,
    )
    return {("total" if row.is_total else row.key): row._asdict() for row in rows}


def _same(expected: dict, got: dict) -> None:
    for name in ("count", "resolved", "duplicates"):
        assert got[name] == expected[name], name
    for name in TIMES:
        value = expected[name]
        assert got[name] == (None if value is None else round(value, 1)), name


@pytest.mark.parametrize(
    ("group_by", "filters", "where"),
    [
        ("category", Filters(), "true"),
        ("area", Filters(), "true"),
        ("day", Filters(), "true"),
        (
            "area",
            Filters(area="G1", category=("garbage", "noise"), start=NOW - timedelta(days=9)),
            "area_codes @> ARRAY['G1'] AND category IN ('garbage', 'noise') "
            "AND reported_at >= :start",
        ),
        (
            "day",
            Filters(start=NOW - timedelta(days=12), end=NOW - timedelta(days=3)),
            "reported_at >= :start AND reported_at < :end",
        ),
        ("category", Filters(category=("no_such_category",)), "category = 'no_such_category'"),
    ],
)
def test_stats_equal_direct_sql(
    history: Connection, group_by: str, filters: Filters, where: str
) -> None:
    params = {"start": filters.start, "end": filters.end}
    expected = _direct_sql(history, group_by, where, params)
    got = stats(history, filters, group_by=group_by, now=NOW)
    _same(expected["total"], got["total"])
    assert [g["key"] for g in got["groups"]] == sorted(
        (k for k in expected if k != "total"), key=lambda k: (k is None, k or "")
    )
    for group in got["groups"]:
        _same(expected[group["key"]], group)
    if group_by == "category" and filters.category == ("no_such_category",):
        assert got["total"]["count"] == 0 and got["groups"] == []
        assert got["total"]["assign_median_s"] is None


@pytest.mark.parametrize(
    "values",
    [[], [5.0], [1.5, 2.25], [3.0, 3.0, 3.0, 7.0], [0.1 * k for k in range(1, 12)]],
)
def test_percentiles_are_percentile_cont(sconn: Connection, values: list[float]) -> None:
    rng = random.Random(len(values))
    values = values + [rng.uniform(0, 86_400) for _ in range(len(values) * 7)]
    ps = (0.0, 0.1, 0.5, 0.9, 0.99, 1.0)
    expected = sconn.execute(
        text(
            "SELECT "
            + ", ".join(f"percentile_cont({p}) WITHIN GROUP (ORDER BY v)" for p in ps)
            + " FROM unnest(CAST(:v AS float8[])) AS v"
        ),
        {"v": values},
    ).one()
    assert percentiles(np.array(values, dtype=np.float64), ps) == list(expected)
