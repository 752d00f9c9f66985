"""``wangge replay`` on a slice of the real 84,322-row daily report file, through the real
CLI, against the real Shanghai townships as boundaries; ``wangge import categories`` and
``wangge incidents reassign`` through the CLI too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gis.areas.importer import import_areas
from gis.areas.reading import read_area_file
from gis.incidents.categories import DEFAULT_FILE
from gis.store.db import make_engine
from gis.store.models import INCIDENTS
from tests.conftest import reference
from tests.gis.areas.test_import_errors import run
from tests.gis.incidents.facts_check import assert_facts_current

ROWS = 1500


pytestmark = pytest.mark.reference_data


@pytest.fixture
def townships_db(fresh_db: str) -> str:
    engine = make_engine(fresh_db)
    source = read_area_file(
        reference("shanghai_townships_wgs84.geojson"), code_field="id", name_field="name"
    )
    with engine.begin() as conn:
        import_areas(conn, source, level="street", activate=True)
    engine.dispose()
    return fresh_db


def _slice(tmp_path: Path) -> Path:
    out = tmp_path / "daily.csv"
    with (
        reference("shanghai_covid2022_case_address_reports_daily.csv").open(encoding="utf-8") as f,
        out.open("w", encoding="utf-8", newline="") as g,
    ):
        for k, line in enumerate(f):
            if k > ROWS:
                break
            g.write(line)
    return out


def test_replay_slice_every_row_stored_or_linked(
    townships_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["import", "categories", str(DEFAULT_FILE)], monkeypatch) == 0
    daily = _slice(tmp_path)
    argv = [
        "replay",
        str(daily),
        "--category",
        "public_health",
        "--address-col",
        "address",
        "--district-col",
        "district",
        "--lon-col",
        "wgs84_lng",
        "--lat-col",
        "wgs84_lat",
        "--json",
    ]
    capsys.readouterr()
    assert run(argv, monkeypatch) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == ROWS and report["stored"] == ROWS and report["errors"] == 0
    engine = make_engine(townships_db)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(INCIDENTS)).scalar_one()
        linked = conn.execute(
            select(func.count()).where(INCIDENTS.c.duplicate_of.is_not(None))
        ).scalar_one()
        owners = dict(
            conn.execute(
                select(INCIDENTS.c.external_id, INCIDENTS.c.owner_code).where(
                    INCIDENTS.c.owner_code.is_not(None)
                )
            ).all()
        )
        assert assert_facts_current(conn) == ROWS  # the stats facts (issue 13 performance)
    engine.dispose()
    assert stored == ROWS and linked == report["duplicates"]
    # nearly every real address lies in a Shanghai township (the rest wait for review)
    assert len(owners) >= 0.95 * ROWS
    # a second run stores nothing new
    assert run(argv, monkeypatch) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["existing"] == ROWS and again["stored"] == 0


def test_reassign_reports_every_change(
    townships_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.fixtures import load_small_street

    assert run(["import", "categories", str(DEFAULT_FILE)], monkeypatch) == 0
    engine = make_engine(townships_db)
    daily = _slice(tmp_path)
    base = ["--category", "public_health", "--lon-col", "wgs84_lng", "--lat-col", "wgs84_lat"]
    assert run(["replay", str(daily), *base], monkeypatch) == 0
    with engine.connect() as conn:
        open_located = conn.execute(
            select(func.count()).where(INCIDENTS.c.geom.is_not(None))
        ).scalar_one()
    # generation 2: the small test street only, elsewhere nothing
    load_small_street(engine, tmp_path)
    capsys.readouterr()
    assert (
        run(["incidents", "reassign", "--generation", "2", "--dry-run", "--json"], monkeypatch) == 0
    )
    dry = json.loads(capsys.readouterr().out)
    assert dry["checked"] == open_located and dry["dry_run"]
    assert dry["changed"] == len(dry["changes"]) > 0
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).where(INCIDENTS.c.generation == 2)).scalar_one()
    assert before == 0
    assert run(["incidents", "reassign", "--generation", "2", "--json"], monkeypatch) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["changes"] == dry["changes"]
    with engine.connect() as conn:
        moved = conn.execute(select(func.count()).where(INCIDENTS.c.generation == 2)).scalar_one()
        assert_facts_current(conn)  # reassigned incidents' facts follow (issue 13 performance)
    engine.dispose()
    assert moved == done["changed"]
