"""A map layer of coverage findings for Folium pages (the coverage map draws this)."""

from __future__ import annotations

import html
from typing import Any, Final

import folium

from gis.coverage.model import CoverageReport, Finding

#: Colour per severity; the map page's legend reads this.
SEVERITY_COLOURS: Final[dict[str, str]] = {
    "error": "#d62728",
    "warning": "#ff7f0e",
    "info": "#1f77b4",
}


def popup_html(finding: Finding) -> str:
    """The finding as escaped HTML: check and severity, message, areas, building, measure."""
    rows = [
        ("area", finding.area_code or ""),
        ("others", ", ".join(finding.other_codes)),
        ("building", finding.building_code or ""),
        ("measure", f"{finding.measure:g} {finding.unit}"),
    ]
    cells = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows if v
    )
    return (
        f"<b>{html.escape(finding.check)}</b> ({html.escape(finding.severity)})"
        f"<p>{html.escape(finding.message)}</p><table>{cells}</table>"
    )


def _style(colour: str, geometry: dict[str, Any]) -> dict[str, Any]:
    filled = geometry["type"] in ("Polygon", "MultiPolygon", "GeometryCollection")
    return {
        "color": colour,
        "weight": 2,
        "fillColor": colour,
        "fillOpacity": 0.35 if filled else 0.0,
    }


def findings_layer(
    report: CoverageReport, *, name: str = "Coverage findings", show: bool = True
) -> folium.FeatureGroup:
    """A FeatureGroup with one shape per finding that has a geometry, coloured by severity
    (:data:`SEVERITY_COLOURS`), errors drawn last (on top), each with an escaped popup."""
    group = folium.FeatureGroup(name=name, show=show)
    order = {s: i for i, s in enumerate(("info", "warning", "error"))}
    for finding in sorted(report.findings, key=lambda f: order[f.severity]):
        if finding.geometry is None:
            continue
        style = _style(SEVERITY_COLOURS[finding.severity], finding.geometry)
        shape = folium.GeoJson(
            {"type": "Feature", "geometry": finding.geometry, "properties": {}},
            style_function=lambda _feature, s=style: s,
            tooltip=html.escape(f"{finding.check}: {finding.area_code or ''}"),
        )
        shape.add_child(folium.Popup(popup_html(finding), max_width=400))
        shape.add_to(group)
    return group
