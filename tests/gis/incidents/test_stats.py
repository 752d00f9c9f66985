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
from gis.incidents.stats import stats
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
