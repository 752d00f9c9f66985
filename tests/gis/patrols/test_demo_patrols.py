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
from gis.patrols.coverage import patrol_figures
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
