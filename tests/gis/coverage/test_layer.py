"""The folium layer of a coverage report: one shape per finding, severity colours, escaped
popups."""

from __future__ import annotations

import folium
from sqlalchemy import Connection

from gis.coverage import CoverageReport, Finding, run_coverage
from gis.coverage.layer import SEVERITY_COLOURS, findings_layer, popup_html

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[121.4, 31.2], [121.41, 31.2], [121.41, 31.21], [121.4, 31.2]]],
}


def finding(severity: str, message: str, geometry: dict | None = SQUARE) -> Finding:
    return Finding("gap", severity, "P<1>", ["M&2"], None, 3.5, "m2", message, geometry)  # type: ignore[arg-type]


def test_popups_are_escaped_and_coloured_by_severity() -> None:
    report = CoverageReport(
        1,
        None,
        {},
        {},
        [
            finding("error", "<script>alert('x')</script>"),
            finding("warning", "ok"),
            finding("info", "no shape", geometry=None),
        ],
    )
    group = findings_layer(report, name="覆盖检查")
    assert isinstance(group, folium.FeatureGroup) and len(group._children) == 2
    page = folium.Map(location=[31.2, 121.4])
    group.add_to(page)
    html = page.get_root().render()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert SEVERITY_COLOURS["error"] in html and SEVERITY_COLOURS["warning"] in html
    assert "P&lt;1&gt;" in popup_html(report.findings[0]) and "M&amp;2" in popup_html(
        report.findings[0]
    )


def test_demo_report_layer_draws_every_finding(demo: Connection) -> None:
    report = run_coverage(demo, checks="spatial,buildings,people")
    group = findings_layer(report)
    assert len(group._children) == sum(f.geometry is not None for f in report.findings) == 11
    assert set(SEVERITY_COLOURS) == {"error", "warning", "info"}
