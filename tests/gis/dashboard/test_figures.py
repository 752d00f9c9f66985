"""The dashboard's data: headline figures and "overdue now" against direct SQL, the ranking
one level down with the children that had no incidents, drill-down and map links."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection, text

from gis.access import Scope
from gis.dashboard.evaluation import Weights
from gis.dashboard.figures import View, dashboard
from tests.gis.incidents.conftest import NOW


def test_dashboard_figures_equal_direct_sql(history: Connection) -> None:
    out = dashboard(history, View(area="S", period="30d"), weights=Weights(), now=NOW)
    head = {h["key"]: h for h in out["headline"]}
    start, before = NOW - timedelta(days=30), NOW - timedelta(days=60)
    q = (
        "SELECT count(*) FILTER (WHERE reported_at >= :s AND reported_at < :e) AS now, "
        "count(*) FILTER (WHERE reported_at >= :b AND reported_at < :s) AS before, "
        "count(*) FILTER (WHERE status NOT IN ('resolved', 'closed') AND due_at < :e) AS late "
        "FROM incidents WHERE area_codes @> ARRAY['S']"
    )
    row = history.execute(text(q), {"s": start, "e": NOW, "b": before}).one()
    assert head["count"]["value"] == row.now and head["count"]["previous"] == row.before
    assert head["overdue_now"]["value"] == row.late > 0
    ranking = out["ranking"]
    assert ranking["level"] == "grid" and {r["key"] for r in ranking["rows"]} == {"G1", "G2"}
    assert all(r["drill"].startswith("/dashboard?area=G") for r in ranking["rows"])
    assert sum(r["count"] for r in ranking["rows"]) == row.now
    assert out["formula"].startswith("综合指标值")
    assert sum(map(sum, out["trend"]["reported"])) == row.now
    below = dashboard(history, View(area="G1"), scope=Scope("G1"), weights=Weights(), now=NOW)
    assert {r["key"] for r in below["ranking"]["rows"]} == {"M1", "M3"}
    assert all(r["map"] == f"/maps/grid/{r['key']}" for r in below["ranking"]["rows"])
    assert [c["code"] for c in below["breadcrumbs"]] == ["G1"]  # nothing above the scope
