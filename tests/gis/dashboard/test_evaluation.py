"""Evaluation (考核): every figure and index of the endpoint's function recomputed here from
the raw incidents (pandas over ``SELECT *``, the formula written out again), for two periods
and three area levels, the departments and the staff."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, text

from gis.dashboard.evaluation import Weights, evaluate, sheet_rows
from gis.incidents.query import Filters
from tests.gis.incidents.conftest import NOW

PERIODS = {
    "last 30 days": (NOW - timedelta(days=30), NOW),
    "the 30 before": (NOW - timedelta(days=60), NOW - timedelta(days=30)),
}
WEIGHTS = Weights(resolution=0.4, on_time=0.3, assignment=0.2, overdue=0.1, assign_target_s=600)


def raw(conn: Connection) -> pd.DataFrame:
    df = pd.read_sql(
        text(
            "SELECT i.id, i.category, i.reported_at, i.due_at, i.assigned_at, i.resolved_at, "
            "i.closed_at, i.area_codes, i.staff, k.department "
            "FROM incidents i LEFT JOIN incident_categories k ON k.code = i.category"
        ),
        conn,
    )
    levels = dict(conn.execute(text("SELECT code, level FROM areas")).all())
    for level in ("street", "grid", "micro_grid"):
        df[level] = df.area_codes.map(
            lambda codes, lv=level: min((c for c in codes if levels.get(c) == lv), default=None)
        )
    return df


def expected_rows(df: pd.DataFrame, key: str, start, end) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    df = df[(df.reported_at >= pd.Timestamp(start)) & (df.reported_at < pd.Timestamp(end))]
    if key == "staff":
        df = df.assign(staff=df.staff.map(lambda s: [m["code"] for m in s])).explode("staff")
    out = {}
    for value, g in df.groupby(key):
        if value is None or value == "":
            continue
        n = len(g)
        resolved = int(g.resolved_at.notna().sum())
        on_time = int((g.resolved_at.notna() & (g.resolved_at <= g.due_at)).sum())
        ended = g.resolved_at.fillna(g.closed_at).fillna(pd.Timestamp(NOW))
        overdue = int((g.due_at < ended).sum())
        waits = (g.assigned_at - g.reported_at).dt.total_seconds().dropna().to_numpy()
        median = round(float(np.median(waits)), 1) if len(waits) else None
        resolution = resolved / n
        timely = on_time / resolved if resolved else 0.0
        assignment = 0.0 if median is None else min(1.0, 600 / median) if median > 0 else 1.0
        late = overdue / n
        index = 100 * (0.4 * resolution + 0.3 * timely + 0.2 * assignment + 0.1 * (1 - late))
        out[value] = {
            "count": n,
            "resolved": resolved,
            "on_time": on_time,
            "overdue": overdue,
            "assign_median_s": median,
            "resolution_rate": round(resolution, 4),
            "on_time_rate": round(timely, 4),
            "overdue_rate": round(late, 4),
            "index": round(index, 2),
        }
    return out


@pytest.mark.parametrize("period", list(PERIODS))
@pytest.mark.parametrize("subject", ["street", "grid", "micro_grid", "department", "staff"])
def test_evaluation_equals_independent_recomputation(
    history: Connection, period: str, subject: str
) -> None:
    start, end = PERIODS[period]
    got = evaluate(
        history, Filters(start=start, end=end), subject=subject, weights=WEIGHTS, now=NOW
    )
    expected = expected_rows(raw(history), subject, start, end)
    assert expected, "the history must have incidents in both periods"
    assert {r["key"] for r in got["rows"]} == set(expected)
    for row in got["rows"]:
        want = expected[row["key"]]
        for name, value in want.items():
            if name == "index":
                assert row[name] == pytest.approx(value, abs=0.011), (row["key"], name)
            else:
                assert row[name] == value, (row["key"], name)
    ranks = [r["rank"] for r in got["rows"]]
    assert ranks == list(range(1, len(ranks) + 1))
    indexes = [r["index"] for r in got["rows"]]
    assert indexes == sorted(indexes, reverse=True)
    assert got["period"] == {"from": start.isoformat(), "to": end.isoformat()}
    assert "0.4×结案率" in got["formula"] and "600秒" in got["formula"]


def test_sheet_rows_carry_period_formula_and_escape_formulas() -> None:
    result = {
        "by": "grid",
        "formula": "综合指标值 = …",
        "rows": [
            {
                "rank": 1,
                "key": "=HYPERLINK(1)",
                "name": "+cmd",
                "count": 1,
                "resolved": 1,
                "on_time": 1,
                "overdue": 0,
                "assign_median_s": None,
                "resolution_rate": 1.0,
                "on_time_rate": 1.0,
                "assignment_score": 0.0,
                "overdue_rate": 0.0,
                "index": 80.0,
            }
        ],
    }
    rows = sheet_rows(result, period_text="2026-11-01 00:00 至 2026-12-01 00:00")
    assert rows[0] == ["考核对象", "网格"]
    assert rows[1][1].startswith("2026-11-01") and rows[2] == ["计算公式", "综合指标值 = …"]
    assert rows[5][1] == "'=HYPERLINK(1)" and rows[5][2] == "'+cmd"
