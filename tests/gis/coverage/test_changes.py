"""Change the demo street (remove an area, move a building, drop a staff row, take incidents
in through the real intake) and see exactly the new findings appear; thresholds, scope and
bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from gis.areas.importer import import_areas
from gis.areas.reading import read_area_file
from gis.assign.service import Assigner
from gis.coverage import run_coverage
from gis.errors import InvalidInput, NotFound
from gis.incidents.categories import ensure_categories
from gis.incidents.intake import IntakeContext, intake
from gis.incidents.lifecycle import transition
from tests.conftest import DEMO_DATA
from tests.gis.coverage.conftest import new_findings

GRID = "310107016003-G01"
REMOVED = f"{GRID}-M02"


def test_removing_a_micro_grid_leaves_a_gap_homeless_buildings_and_dangling_staff(
    demo: Connection, tmp_path: Path
) -> None:
    before = run_coverage(demo)
    area_m2 = demo.execute(
        text("SELECT area_m2 FROM areas WHERE code = :c"), {"c": REMOVED}
    ).scalar_one()
    homes = (
        demo.execute(
            text(
                "SELECT b.code FROM buildings b JOIN areas a ON a.code = :c "
                "AND ST_Relate(b.geom, a.geom, '2********') ORDER BY b.code"
            ),
            {"c": REMOVED},
        )
        .scalars()
        .all()
    )
    staff = (
        demo.execute(
            text("SELECT code FROM staff WHERE area_code = :c ORDER BY code"), {"c": REMOVED}
        )
        .scalars()
        .all()
    )
    assert homes and staff
    # a new generation of micro-grids without it, as an import would make
    collection = json.loads((DEMO_DATA / "micro_grids.geojson").read_text())
    collection["features"] = [
        f for f in collection["features"] if f["properties"]["code"] != REMOVED
    ]
    path = tmp_path / "micro_grids.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False))
    source = read_area_file(path, code_field="code", name_field="name", parent_field="parent_code")
    import_areas(demo, source, level="micro_grid", activate=True)

    after = run_coverage(demo)
    assert after.generation == before.generation + 1
    new = new_findings(before, after)

    assert sorted(f.check for f in new) == sorted(
        ["gap"] + ["building_outside"] * len(homes) + ["staff_dangling"] * len(staff)
    )
    gap = next(f for f in new if f.check == "gap")
    assert gap.area_code == GRID and gap.measure == pytest.approx(area_m2, rel=0.001)
    assert REMOVED not in gap.other_codes and gap.other_codes
    outside = [f for f in new if f.check == "building_outside"]
    assert sorted(f.building_code for f in outside) == homes
    assert all(f.area_code == GRID and f.measure == 0 for f in outside)
    dangling = [f for f in new if f.check == "staff_dangling"]
    assert sorted(f.details["staff_code"] for f in dangling) == staff
    assert all(f.area_code == REMOVED and f.geometry is not None for f in dangling)


def test_moving_a_building_away_leaves_it_in_no_micro_grid(demo: Connection) -> None:
    before = run_coverage(demo)
    demo.execute(
        text("UPDATE buildings SET geom = ST_Translate(geom, 0.1, 0) WHERE code = 'B0001'")
    )
    new = new_findings(before, run_coverage(demo))
    assert [(f.check, f.building_code, f.area_code, f.other_codes) for f in new] == [
        ("building_outside", "B0001", None, [])
    ]


def test_moving_a_building_onto_a_boundary_splits_it(demo: Connection) -> None:
    a, b = "310107016001-G01-M01", "310107016001-G01-M02"
    before = run_coverage(demo, checks="buildings")
    demo.execute(
        text(
            """
            UPDATE buildings SET geom = ST_Translate(geom,
                ST_X(m) - ST_X(ST_Centroid(geom)), ST_Y(m) - ST_Y(ST_Centroid(geom)))
            FROM (SELECT ST_LineInterpolatePoint(ST_LineMerge(ST_Intersection(
                    ST_Boundary(x.geom), ST_Boundary(y.geom))), 0.5) AS m
                  FROM areas x, areas y WHERE x.code = :a AND y.code = :b) edge
            WHERE code = 'B0001'
            """
        ),
        {"a": a, "b": b},
    )
    new = new_findings(before, run_coverage(demo, checks="buildings"))
    assert [(f.check, f.building_code) for f in new] == [("building_split", "B0001")]
    assert {new[0].area_code, *new[0].other_codes} == {a, b}
    assert sum(new[0].details["shares"].values()) == pytest.approx(1.0, abs=0.001)


def test_dropping_staff_rows_shows_exactly_who_is_missing(demo: Connection) -> None:
    before = run_coverage(demo)
    demo.execute(text("DELETE FROM staff WHERE building_code = 'B0001'"))
    demo.execute(
        text(
            "DELETE FROM staff WHERE area_code = '310107016001-G01-M01' "
            "AND role = 'micro_grid_leader'"
        )
    )
    new = new_findings(before, run_coverage(demo))
    assert sorted((f.check, f.area_code, f.building_code) for f in new) == [
        ("no_building_leader", "310107016001-G01-M01", "B0001"),
        ("no_leader", "310107016001-G01-M01", None),
    ]
    leader = next(f for f in new if f.check == "no_leader")
    assert leader.measure == 2 and leader.severity == "error"  # member + part-timer remain


MG = "310107016001-G01-M01"


@pytest.fixture(scope="module")
def intake_ctx(demo_engine: Engine) -> IntakeContext:
    """The real intake on the demo street (no gazetteer: these incidents have coordinates)."""
    return IntakeContext(Assigner(demo_engine, check_seconds=0))


def take_in(conn: Connection, ctx: IntakeContext, ago: list[timedelta]) -> list[int]:
    """Report one incident per age in ``ago`` inside :data:`MG`; their ids."""
    lon, lat = conn.execute(
        text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM areas "
             "WHERE code = :c ORDER BY id DESC LIMIT 1) a"),
        {"c": MG},
    ).one()  # fmt: skip
    ensure_categories(conn)
    now = datetime.now(UTC)
    bodies = [
        {"category": "noise", "source": "hotline", "lon": lon, "lat": lat,
         "reported_at": (now - age).isoformat()}
        for age in ago
    ]  # fmt: skip
    taken = intake(conn, ctx, bodies, now=now)
    assert [(t.error, t.owner_code, t.status) for t in taken] == [(None, MG, "assigned")] * len(ago)
    return [t.id for t in taken if t.id is not None]


def test_an_overdue_incident_taken_in_is_exactly_one_new_finding(
    demo: Connection, intake_ctx: IntakeContext
) -> None:
    before = run_coverage(demo, checks="incidents")
    assert before.summary["not_run"] == {} and before.findings == []
    take_in(demo, intake_ctx, [timedelta(days=30)])  # 24 working hours: long past due
    after = run_coverage(demo, checks="incidents")
    assert after.summary["not_run"] == {}
    new = new_findings(before, after)
    assert [(f.check, f.area_code, f.measure, f.details) for f in new] == [
        ("overdue_incidents", MG, 1, {"total": 1})  # one incident: no rate judged yet
    ]


def test_a_low_resolution_rate_is_reported(demo: Connection, intake_ctx: IntakeContext) -> None:
    ids = take_in(demo, intake_ctx, [timedelta(minutes=10 + k) for k in range(10)])
    for incident in ids[:4]:
        for state in ("in_progress", "resolved"):
            transition(demo, incident, to=state, actor="王芳")
    report = run_coverage(demo, checks="incidents")
    assert [(f.check, f.area_code, f.measure, f.details) for f in report.findings] == [
        ("resolution_rate", MG, 0.4, {"total": 10, "resolved": 4})  # none overdue
    ]
    # at the threshold's edge nothing is reported
    assert (
        run_coverage(
            demo, checks="incidents", thresholds={"incident_resolution_rate_min": 0.4}
        ).findings
        == []
    )


def test_incident_table_of_another_shape_is_reported_not_fatal(demo: Connection) -> None:
    # a deployment whose incidents table differs (rolled back with the test's transaction)
    demo.execute(text("ALTER TABLE incidents RENAME TO incidents_real"))
    demo.execute(text("CREATE TABLE incidents (id serial PRIMARY KEY, state text)"))
    report = run_coverage(demo, checks="incidents,no_leader")
    assert "lacks the expected columns" in report.summary["not_run"]["resolution_rate"]
    assert [f.check for f in report.findings] == ["no_leader"]  # the transaction survived


def test_thresholds_change_what_is_reported_and_are_stated(demo: Connection) -> None:
    report = run_coverage(demo, checks="gap,sliver", thresholds={"gap_min_m2": 500})
    assert [f.check for f in report.findings] == ["sliver"]
    assert report.summary["ignored"] == {"gap pieces below gap_min_m2": 1}
    assert report.thresholds["gap_min_m2"] == 500
    # a narrower sliver width makes the 1.21 m strip an ordinary gap
    report = run_coverage(demo, checks="gap,sliver", thresholds={"sliver_max_width_m": 1.0})
    assert sorted(round(f.measure) for f in report.findings if f.check == "gap") == [60, 420]
    straight = run_coverage(demo, checks="service_reach")
    detour = run_coverage(demo, checks="service_reach", thresholds={"service_detour_factor": 1.4})
    assert len(detour.findings) > len(straight.findings)
    shares = {(f.area_code, f.details["kind"]): f.measure for f in detour.findings}
    assert all(shares[(f.area_code, f.details["kind"])] >= f.measure for f in straight.findings)


def test_area_scope_keeps_to_the_subtree(demo: Connection) -> None:
    report = run_coverage(demo, area="310107016010")
    assert report.area == "310107016010"
    assert {(f.check, f.area_code) for f in report.findings if f.severity == "error"} == {
        ("gap", "310107016010-G01"),
        ("building_outside", "310107016010-G01"),
    }
    assert all((f.area_code or "").startswith("310107016010") for f in report.findings)


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"checks": "gap,bogus"}, InvalidInput, "checks"),
        ({"area": "nowhere"}, NotFound, "area"),
        ({"generation": 99}, NotFound, "generation"),
        ({"thresholds": {"gap_min_m2": -1}}, InvalidInput, "thresholds.gap_min_m2"),
        ({"thresholds": {"bogus": 1}}, InvalidInput, "thresholds.bogus"),
        ({"thresholds": {"building_level": "flat"}}, InvalidInput, "thresholds.building_level"),
        (
            {"thresholds": {"service_radius_m": {"spa": 100}}},
            InvalidInput,
            "thresholds.service_radius_m",
        ),
    ],
)
def test_bad_input_names_the_field(
    demo: Connection, kwargs: dict, error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as info:
        run_coverage(demo, **kwargs)
    assert info.value.field == field  # type: ignore[attr-defined]


def test_an_address_naming_another_community_is_a_warning(demo: Connection) -> None:
    before = run_coverage(demo, checks="address_area")
    assert before.findings == []  # every lane lies in one community
    demo.execute(text("UPDATE buildings SET address = '曹杨路13弄99号' WHERE code = 'B0001'"))
    (found,) = new_findings(before, run_coverage(demo, checks="address_area"))
    assert (found.check, found.severity, found.building_code) == (
        "address_area",
        "warning",
        "B0001",
    )
    assert found.area_code == "310107016001" and found.other_codes == ["310107016002"]
    assert found.details["lane"] == "曹杨路13弄"


def test_households_per_member_against_the_roster(demo: Connection) -> None:
    assert run_coverage(demo, checks="households_per_member").findings == []  # ≤ 300 each
    report = run_coverage(
        demo, checks="households_per_member", thresholds={"households_per_member_max": 150}
    )
    assert report.findings
    for f in report.findings:
        assert f.measure > 150 and f.severity == "warning"
        assert f.measure == pytest.approx(f.details["households"] / f.details["members"], abs=0.1)
    sample = report.findings[0]
    members = demo.execute(
        text(
            "SELECT count(*) FROM staff WHERE area_code = :c "
            "AND role IN ('full_time_member', 'part_time_member')"
        ),
        {"c": sample.area_code},
    ).scalar_one()
    assert sample.details["members"] == members


def test_removing_the_blocks_of_one_micro_grid_leaves_it_undivided(demo: Connection) -> None:
    mg = "310107016006-G01-M01"  # blocks and corridors exist in this community only
    before = run_coverage(demo)
    gone = (
        demo.execute(
            text("SELECT code FROM areas WHERE code LIKE :p AND level IN ('block', 'corridor')"),
            {"p": f"{mg}-%"},
        )
        .scalars()
        .all()
    )
    staff = (
        demo.execute(
            text("SELECT code FROM staff WHERE area_code = ANY(:c) ORDER BY code"), {"c": gone}
        )
        .scalars()
        .all()
    )
    demo.execute(text("DELETE FROM areas WHERE code = ANY(:c)"), {"c": gone})
    new = new_findings(before, run_coverage(demo))
    assert sorted((f.check, f.area_code) for f in new if f.check != "staff_dangling") == [
        ("undivided", mg)
    ]
    assert sorted(f.details["staff_code"] for f in new if f.check == "staff_dangling") == staff
    undivided = next(f for f in new if f.check == "undivided")
    assert undivided.details["missing_levels"] == ["block"] and undivided.other_codes == [
        "310107016006-G01"
    ]
