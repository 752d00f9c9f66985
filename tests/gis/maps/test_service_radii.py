"""Service radii are one fact: the map pages' circles and the coverage check read one table."""

from __future__ import annotations

from gis.coverage.thresholds import CHECKED_SERVICES, SERVICE_RADIUS_M, Thresholds
from gis.levels import FACILITY_KINDS
from gis.maps import grid_page


def test_the_map_and_the_coverage_check_share_one_table() -> None:
    assert grid_page.SERVICE_RADIUS_M is SERVICE_RADIUS_M
    checked = Thresholds().service_radius_m
    assert set(checked) == set(CHECKED_SERVICES)
    assert all(checked[kind] == SERVICE_RADIUS_M[kind] for kind in checked)
    assert set(SERVICE_RADIUS_M) <= set(FACILITY_KINDS)
