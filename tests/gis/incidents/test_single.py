"""The one-statement intake of a single request (gis/incidents/single.py): the same answer
as reading the incident back, the same duplicate rule as the batch path, safe retries, and
caches that never apply a changed category, roster or boundary late."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS
from sqlalchemy import Connection, Engine, func, select, text, update

from gis.access import Scope
from gis.access.roles import Principal
from gis.areas.generations import activate
from gis.areas.importer import import_areas
from gis.areas.reading import read_area_file
from gis.assign.service import Assigner
from gis.errors import InvalidInput
from gis.incidents.categories import load_categories
from gis.incidents.duplicates import NEAREST_SQL, find_duplicates, nearest_params
from gis.incidents.intake import IntakeContext
from gis.incidents.locating import Placement
from gis.incidents.parse import parse_incident
from gis.incidents.query import get_incident
from gis.incidents.service import submit
from gis.incidents.single import STATEMENT, take_one
from gis.incidents.worktime import WorkCalendar
from gis.security.audit import Entry
from gis.store.db import make_engine
from gis.store.models import AUDIT_LOG, INCIDENT_CATEGORIES, INCIDENTS
from tests.fixtures import HALF, X0, Y0, redraw_micro_grids, small_street_with_categories
from tests.gis.incidents.conftest import NOW, body

WHO = Principal(key_id="single0001", name="single test", role="admin")
M1 = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}  # the south-west micro-grid
M2 = {"lon": X0 + 1.5 * HALF, "lat": Y0 + HALF / 2}  # M2 until generation 2 gives it to M1


@pytest.fixture
def street(new_database: Callable[[], str], tmp_path: Path) -> Iterator[Engine]:
    """A database of this test's own (take_one commits; some tests change categories,
    staff or boundaries)."""
    url = new_database()
    small_street_with_categories(url, tmp_path)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def context(street: Engine) -> IntakeContext:
    return IntakeContext(Assigner(street, check_seconds=0), WorkCalendar())


def _take(engine: Engine, ctx: IntakeContext, **kw: object) -> tuple[dict[str, Any], bool]:
    answer = take_one(engine, ctx, body(**kw), audit=Entry(WHO, "incident.create", "10.0.0.9"))
    assert answer is not None
    return answer


def _read(engine: Engine, ident: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return get_incident(conn, ident)


def test_answer_equals_the_stored_incident_with_duplicate_and_audit(
    street: Engine, context: IntakeContext
) -> None:
    first, created = _take(street, context, external_id="s-1", **M1)
    assert created and first == _read(street, first["id"])
    props = first["properties"]
    assert props["owner"] == {"code": "M1", "name": "西南微网格"}
    assert [s["code"] for s in props["staff"]] == ["P1", "P2"]
    assert [e["kind"] for e in props["timeline"]] == ["reported", "transition"]
    # 10 m away, same category, within the window: linked to the first, never dropped
    near = {"lon": M1["lon"] + 0.0001, "lat": M1["lat"]}
    second, created = _take(street, context, external_id="s-2", **near)
    assert created and second == _read(street, second["id"])
    assert second["properties"]["duplicate_of"] == first["id"]
    kinds = [e["kind"] for e in second["properties"]["timeline"]]
    assert kinds == ["reported", "duplicate_linked", "transition"]
    # the retry answers the stored incident: no second row, no second audit entry
    again, created = _take(street, context, external_id="s-2", **near)
    assert not created and again == second
    with street.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(INCIDENTS)).scalar_one()
        audited = conn.execute(
            select(AUDIT_LOG.c.target).where(AUDIT_LOG.c.key_id == WHO.key_id)
        ).scalars()
        assert stored == 2 and sorted(audited) == sorted(
            [f"incident/{first['id']}", f"incident/{second['id']}"]
        )


def test_unlocated_and_outside_go_to_review(street: Engine, context: IntakeContext) -> None:
    outside, _ = _take(street, context, lon=X0 - 0.05, lat=Y0)
    assert outside == _read(street, outside["id"])
    props = outside["properties"]
    assert props["location_status"] == "needs_review" and props["status"] == "reported"
    unresolved, _ = _take(street, context, lon=None, lat=None, address="没有这条路8号")
    assert unresolved == _read(street, unresolved["id"])
    assert unresolved["geometry"] is None


def test_refusals_are_named_and_write_nothing(street: Engine, context: IntakeContext) -> None:
    with pytest.raises(InvalidInput) as bad:
        take_one(street, context, body(category="no_such_thing"))
    assert bad.value.field == "category"
    # outside the caller's scope: left to intake(), which refuses it naming the field
    assert take_one(street, context, body(**M2), scope=Scope("G1")) is None
    with pytest.raises(InvalidInput) as outside:
        submit(street, context, body(**M2), scope=Scope("G1"))
    assert outside.value.field == "lon" and "outside your scope" in outside.value.reason
    with street.connect() as conn:
        assert conn.execute(select(func.count()).select_from(INCIDENTS)).scalar_one() == 0


def test_changed_category_applies_at_once(street: Engine, context: IntakeContext) -> None:
    first, _ = _take(street, context, reported_at="2026-11-23T10:00:00+08:00", **M1)
    assert context.categories.current is not None
    with street.begin() as conn:  # garbage: 8 working hours -> 2 calendar hours
        conn.execute(
            update(INCIDENT_CATEGORIES)
            .where(INCIDENT_CATEGORIES.c.code == "garbage")
            .values(sla_hours=2, clock="calendar", duplicate_radius_m=0)
        )
        conn.execute(
            text(
                "INSERT INTO incident_categories (code, name, sla_hours, clock, "
                "duplicate_radius_m, duplicate_window_hours) "
                "VALUES ('pothole', '路面坑洞', 6, 'calendar', 10, 24)"
            )
        )
    second, _ = _take(street, context, reported_at="2026-11-23T10:00:00+08:00", **M1)
    assert second["properties"]["due_at"] == "2026-11-23T04:00:00+00:00"
    assert second["properties"]["duplicate_of"] is None  # radius 0: not linked any more
    assert first["properties"]["due_at"] != second["properties"]["due_at"]
    third, created = _take(street, context, category="pothole", **M1)  # a category added now
    assert created and third["properties"]["category"] == "pothole"


def test_changed_roster_and_boundaries_apply(
    street: Engine, context: IntakeContext, tmp_path: Path
) -> None:
    before, _ = _take(street, context, **M2)
    assert before["properties"]["owner"]["code"] == "M2"
    assert before["properties"]["staff"] == []
    with street.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO staff (code, name, role, phone, area_code) "
                "VALUES ('P9', '赵敏', 'micro_grid_leader', '13900000009', 'M2')"
            )
        )
    staffed, _ = _take(street, context, **M2)
    assert [s["code"] for s in staffed["properties"]["staff"]] == ["P9"]
    source = read_area_file(
        redraw_micro_grids(tmp_path),
        code_field="code",
        name_field="name",
        parent_field="parent_code",
    )
    with street.begin() as conn:
        import_areas(conn, source, level="micro_grid")
        activate(conn)
    after, _ = _take(street, context, **M2)
    props = after["properties"]
    assert props["owner"]["code"] == "M1" and props["generation"] == 2
    # the snapshot of the earlier incident is history: never rewritten
    assert _read(street, before["id"])["properties"]["generation"] == 1


def test_statement_stays_within_psycopgs_parse_cache() -> None:
    """psycopg parses a statement of at most 4,096 characters and 50 parameters once per
    process; a longer one is parsed again on every request."""
    import re

    assert len(STATEMENT) <= MAX_CACHED_STATEMENT_LENGTH
    assert len(set(re.findall(r"%\((\w+)\)s", STATEMENT))) <= MAX_CACHED_STATEMENT_PARAMS


def test_nearest_sql_agrees_with_the_batch_rule(sconn: Connection) -> None:
    """Random stored incidents around a spot and random newcomers: the one-item SQL picks
    the very incident find_duplicates picks (or none)."""
    cats = load_categories(sconn)
    rng = random.Random(13)
    lon0, lat0 = 121.3925, 31.2425
    rows = []
    for k in range(300):
        rows.append(
            {
                "category": rng.choice(["garbage", "water_leak", "noise"]),
                "source": "patrol",
                "geom": f"SRID=4326;POINT({lon0 + rng.uniform(-2e-3, 2e-3)!r} "
                f"{lat0 + rng.uniform(-2e-3, 2e-3)!r})",
                "location_status": "ok",
                "reported_at": NOW - timedelta(hours=rng.uniform(0, 72)),
                "status": rng.choice(["assigned", "assigned", "resolved"]),
                "due_at": NOW,
                "external_id": f"near-{k}",
            }
        )
    sconn.execute(
        text(
            "INSERT INTO incidents (category, source, geom, location_status, reported_at, "
            "status, due_at, external_id) VALUES (:category, :source, "
            "ST_GeomFromEWKT(:geom), :location_status, :reported_at, :status, :due_at, "
            ":external_id)"
        ),
        rows,
    )
    sconn.execute(  # some are duplicates themselves: never the target of a link
        text("UPDATE incidents SET duplicate_of = id - 1 WHERE external_id LIKE 'near-%5'")
    )
    agreed = linked = 0
    for _ in range(200):
        lon = lon0 + rng.uniform(-2.2e-3, 2.2e-3)
        lat = lat0 + rng.uniform(-2.2e-3, 2.2e-3)
        item = parse_incident(
            {
                "category": rng.choice(["garbage", "water_leak", "noise"]),
                "lon": lon,
                "lat": lat,
                "reported_at": (NOW - timedelta(hours=rng.uniform(0, 72))).isoformat(),
            },
            now=NOW,
            categories=set(cats),
        )
        place = Placement(lon=lon, lat=lat, location_status="ok")
        [expected] = find_duplicates(sconn, [item], [place], [-1], cats)
        params = {"category": item.category, **nearest_params(item, place, cats[item.category])}
        got = sconn.exec_driver_sql(NEAREST_SQL, params).scalar_one_or_none()
        agreed += got == expected
        linked += expected is not None
    assert agreed == 200 and 20 < linked < 180, linked  # both outcomes were exercised
