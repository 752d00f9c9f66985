"""The one shape of a coverage finding and of a coverage report (stable: maps draw it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: Final[tuple[str, ...]] = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One place where coverage breaks, measured, with who must act.

    ``area_code`` is the area that must act (the parent for gaps and overlaps, the child for
    one reaching outside, the micro-grid for buildings and people); ``other_codes`` the other
    areas involved; ``measure`` in ``unit`` (m², m, share 0–1, staff, households/member…);
    ``geometry`` GeoJSON in WGS-84 (None when nothing can be drawn); ``details`` secondary
    measures (shares of each area, width and length, building lists).
    """

    check: str
    severity: Severity
    area_code: str | None
    other_codes: list[str]
    building_code: str | None
    measure: float
    unit: str
    message: str
    geometry: dict[str, Any] | None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_feature(self) -> dict[str, Any]:
        """A GeoJSON Feature whose properties are the other finding fields."""
        props = self.as_dict()
        geometry = props.pop("geometry")
        return {"type": "Feature", "geometry": geometry, "properties": props}


@dataclass
class CoverageReport:
    """Every finding of one run, with the generation, area, thresholds and a summary."""

    generation: int
    area: str | None
    thresholds: dict[str, Any]
    summary: dict[str, Any]
    findings: list[Finding]

    def as_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "area": self.area,
            "thresholds": self.thresholds,
            "summary": self.summary,
            "findings": [f.as_dict() for f in self.findings],
        }

    def as_geojson(self) -> dict[str, Any]:
        """A FeatureCollection of the findings; the report's other fields as members."""
        return {
            "type": "FeatureCollection",
            "generation": self.generation,
            "area": self.area,
            "thresholds": self.thresholds,
            "summary": self.summary,
            "features": [f.as_feature() for f in self.findings],
        }

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)
