"""The demo's month of patrols: the unpatrolled check finds exactly the buildings the demo's
defects file says were deliberately never visited; the figures and purge keep the visits."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, text

from gis.coverage import run_coverage
from gis.coverage.thresholds import Thresholds
from gis.dashboard.evaluation import Weights, evaluate
from gis.incidents.categories import ensure_categories
from gis.incidents.query import Filters
from gis.patrols.coverage import patrol_coverage, patrol_figures
from gis.patrols.demo import load_demo_patrols
from gis.patrols.purge import purge_fixes
from gis.store.db import make_engine
from tests.conftest import DEMO_DATA


@pytest.fixture(scope="module")
def patrolled(new_database: Callable[[], str]) -> Iterator[str]:
    from gis.demo_load import load_demo

    url = new_database()
    engine = make_engine(url)
    with engine.begin() as conn:
        load_demo(conn, DEMO_DATA)
        load_demo_patrols(conn, DEMO_DATA, thresholds=Thresholds())
    engine.dispose()
    return url


@pytest.fixture
def db(patrolled: str) -> Iterator[Connection]:
    engine = make_engine(patrolled)
    with engine.connect() as conn:
        tx = conn.begin()
        yield conn
        tx.rollback()
    engine.dispose()


def test_unpatrolled_findings_are_the_planted_ones(db: Connection) -> None:
    key = [
        d
        for d in json.loads((DEMO_DATA / "defects.json").read_text())
        if d["kind"] == "unpatrolled"
    ]
    assert key, "the demo plants unpatrolled buildings"
    planted = {b for d in key for b in d["building_codes"]}
    report = run_coverage(db, checks="unpatrolled")
    assert report.summary["not_run"] == {}
    found = {f.building_code for f in report.findings}
    assert found == planted
    assert all(f.details["never"] and f.severity == "warning" for f in report.findings)
    patrols = db.execute(text("SELECT count(*), sum(fixes_kept) FROM patrols")).one()
    assert patrols[0] > 1000 and patrols[1] > 100_000
    dropped = db.execute(
        text("SELECT sum((dropped->>'accuracy')::int), sum((dropped->>'speed')::int) FROM patrols")
    ).one()
    assert dropped[0] > 0 and dropped[1] > 0


def test_figures_and_purge_keep_visits(db: Connection) -> None:
    now = datetime.now(UTC)
    figures = patrol_figures(
        db, area=None, start=now - timedelta(days=31), end=now, thresholds=Thresholds()
    )
    unstaffed = [f for f in figures.values() if f["patrols"] == 0 and f["buildings"]]
    assert unstaffed and all(f["buildings_visited"] == 0 for f in unstaffed)
    walked = [f for f in figures.values() if f["patrols"]]
    assert walked and all(f["distance_m"] > 0 for f in walked)
    assert sum(f["visited_share"] == 1.0 for f in walked) > 0.9 * len(walked)
    visits = db.execute(text("SELECT count(*) FROM patrol_visits")).scalar_one()
    answer = purge_fixes(db, retention_days=10)
    assert answer["patrols"] > 0 and answer["fixes"] > 0
    old = db.execute(
        text("SELECT count(*) FROM patrol_fixes f JOIN patrols p ON p.id = f.patrol_id "
             "WHERE p.ended_at < now() - interval '10 days'")
    ).scalar_one()  # fmt: skip
    assert old == 0
    assert db.execute(text("SELECT count(*) FROM patrol_visits")).scalar_one() == visits
    purged = db.execute(
        text("SELECT count(*) FROM patrols WHERE purged_at IS NOT NULL AND track IS NULL "
             "AND distance_m > 0")
    ).scalar_one()  # fmt: skip
    assert purged == answer["patrols"]
    assert purge_fixes(db, retention_days=10)["patrols"] == 0


def test_evaluation_carries_patrol_figures_summed_up_from_the_buildings(db: Connection) -> None:
    """Each community's patrol share is recomputed here from the per-building answer and the
    areas' parent links, independently of the roll-up in ``patrol_figures``."""
    now = datetime.now(UTC)
    start = now - timedelta(days=31)
    answer = patrol_coverage(db, area=None, start=start, end=now, thresholds=Thresholds())
    areas = db.execute(
        text("SELECT code, parent_code, level FROM areas WHERE valid @> CAST(:g AS int)"),
        {"g": answer["generation"]},
    ).all()
    parents = {a.code: a.parent_code for a in areas}
    level = {a.code: a.level for a in areas}

    def community(code: str | None) -> str | None:
        while code is not None and level.get(code) != "community":
            code = parents.get(code)
        return code

    expected: dict[str, list[int]] = {}
    for b in answer["buildings"]:
        owner = community(b["micro_grid"])
        if owner is not None:
            counts = expected.setdefault(owner, [0, 0])
            counts[0] += 1
            counts[1] += b["visited"]
    assert len(expected) > 1 and any(v < n for n, v in expected.values())
    ensure_categories(db)
    owners = {community(b["micro_grid"]): b["micro_grid"] for b in answer["buildings"]}
    for owner in expected:  # one incident in every community: the evaluation lists it
        chain, code = [], owners[owner]
        while code is not None:
            chain.append(code)
            code = parents.get(code)
        db.execute(
            text(
                "INSERT INTO incidents (category, source, status, location_status, "
                "reported_at, due_at, owner_code, area_codes) VALUES ('garbage', 'patrol', "
                "'reported', 'ok', :at, :at, :owner, :chain)"
            ),
            {"at": now - timedelta(days=1), "owner": chain[0], "chain": chain},
        )
    ev = evaluate(
        db,
        Filters(start=start, end=now),
        subject="community",
        weights=Weights(),
        now=now,
        thresholds=Thresholds(),
    )
    assert ev["rows"]
    assert {r["key"] for r in ev["rows"]} == set(expected)
    for row in ev["rows"]:
        n, visited = expected[row["key"]][:2]
        share = round(visited / n, 4) if n else None
        assert row["patrol_visited_share"] == share, row["key"]
        assert row["patrols"] >= 0 and row["patrol_distance_km"] >= 0
    assert any(r["patrols"] > 0 for r in ev["rows"])


def test_evaluation_of_an_unknown_area_has_no_patrol_figures_and_no_error(db: Connection) -> None:
    """The incidents' figures of an area with no boundary are empty rows, not a 404: the patrol
    figures beside them must not turn that into one (found by the fuzz run)."""
    ev = evaluate(
        db,
        Filters(area="NO-SUCH-AREA"),
        subject="community",
        weights=Weights(),
        thresholds=Thresholds(),
    )
    assert ev["rows"] == []
