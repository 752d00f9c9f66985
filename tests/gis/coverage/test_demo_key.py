"""The whole coverage report of the demo street against its answer key (defects.json):
every planted defect found with the right codes and a measure within 5 %, and no other
finding of severity error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Connection

from gis.coverage import Finding, run_coverage
from tests.conftest import DEMO_DATA

#: The patrol defects need the demo patrols loaded (tests/gis/patrols/test_demo_patrols.py).
DEFECTS: list[dict[str, Any]] = [
    d for d in json.loads((DEMO_DATA / "defects.json").read_text()) if d["kind"] != "unpatrolled"
]

#: Which checks report each kind of planted defect.
CHECKS_OF_KIND = {
    "gap": ("gap",),
    "sliver": ("sliver",),
    "overlap": ("overlap",),
    "building_outside": ("building_outside",),
    "building_split": ("building_split",),
    "unstaffed": ("no_leader", "no_full_time_member"),
    "no_building_leader": ("no_building_leader",),
}


def codes(f: Finding) -> set[str]:
    return {c for c in (f.area_code, *f.other_codes) if c}


def close(value: float, expected: float) -> bool:
    return abs(value - expected) <= 0.05 * abs(expected) + 1e-9


def matches(f: Finding, defect: dict[str, Any]) -> bool:
    """``f`` reports ``defect``: same areas (and building), measures within 5 %."""
    if not set(defect["area_codes"]) <= codes(f):
        return False
    if defect["building_codes"] != ([f.building_code] if f.building_code else []):
        return False
    kind = defect["kind"]
    if kind in ("gap", "sliver", "overlap"):
        ok = close(f.measure, defect["area_m2"]) and f.unit == "m2"
        if defect["width_m"] is not None:
            ok = ok and close(f.details["width_m"], defect["width_m"])
            ok = ok and close(f.details["length_m"], defect["length_m"])
        return ok
    if kind in ("building_outside", "building_split"):
        return (
            f.unit == "share"
            and close(f.measure, defect["share"])
            and close(f.details["area_m2"], defect["area_m2"])
        )
    return f.unit == "staff" and f.measure == defect["staff_count"]


@pytest.fixture
def report(demo: Connection) -> Any:
    return run_coverage(demo)


def test_every_planted_defect_is_found(report: Any) -> None:
    for defect in DEFECTS:
        for check in CHECKS_OF_KIND[defect["kind"]]:
            found = [f for f in report.findings if f.check == check and matches(f, defect)]
            assert len(found) == 1, (defect["code"], check, found)
            assert found[0].severity == "error"


def test_no_error_beyond_the_key(report: Any) -> None:
    errors = [f for f in report.findings if f.severity == "error"]
    unexplained = [
        f
        for f in errors
        if not any(f.check in CHECKS_OF_KIND[d["kind"]] and matches(f, d) for d in DEFECTS)
    ]
    assert unexplained == []
    assert len(errors) == sum(len(CHECKS_OF_KIND[d["kind"]]) for d in DEFECTS)
    assert report.summary["error"] == len(errors)


def test_gap_and_overlap_name_parent_and_neighbours(report: Any) -> None:
    """Gaps and overlaps are the parent's to fix; neighbours longest shared edge first."""
    gap = next(f for f in report.findings if f.check == "gap")
    defect = next(d for d in DEFECTS if d["kind"] == "gap")
    assert gap.area_code == "310107016010-G01" and gap.other_codes == defect["area_codes"]
    assert gap.geometry is not None and gap.geometry["type"] == "Polygon"
    lon, lat = gap.geometry["coordinates"][0][0]
    assert abs(lon - defect["lon"]) < 0.001 and abs(lat - defect["lat"]) < 0.001
    overlap = next(f for f in report.findings if f.check == "overlap")
    assert overlap.area_code == "310107016005-G03"
    assert set(overlap.details["shares"]) == set(overlap.other_codes)
    assert all(0 < s < 0.05 for s in overlap.details["shares"].values())
    split = next(f for f in report.findings if f.check == "building_split")
    assert split.area_code == "310107016005-G02-M03"  # the larger share owns it
    assert split.details["shares"]["310107016005-G02-M04"] == pytest.approx(0.4, abs=0.01)


def test_report_states_thresholds_and_that_every_check_ran(report: Any) -> None:
    data = report.as_dict()
    assert set(data) == {"generation", "area", "thresholds", "summary", "findings"}
    assert data["generation"] == 1 and data["area"] is None
    assert data["thresholds"]["gap_min_m2"] == 10.0
    assert data["thresholds"]["service_radius_m"]["elderly_care"] == 500.0
    # every check ran, the incident ones too (on an empty incidents table: nothing found)
    # the patrol check waits for patrols (tests/gis/patrols/test_demo_patrols.py loads them)
    assert set(data["summary"]["not_run"]) == {"unpatrolled"}
    incident_checks = {"overdue_incidents", "resolution_rate"}
    assert incident_checks <= set(data["summary"]["checks_run"])
    assert not [f for f in data["findings"] if f["check"] in incident_checks]
    json.dumps(data)  # plain JSON all the way down
    features = report.as_geojson()["features"]
    assert len(features) == len(data["findings"])
    assert features[0]["properties"]["check"] == data["findings"][0]["check"]
