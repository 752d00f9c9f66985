"""Response models of ``/v1/coverage`` (the shape of ``gis.coverage.CoverageReport``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_FINDING_EXAMPLE: dict[str, Any] = {
    "check": "gap",
    "severity": "error",
    "area_code": "310107016010-G01",
    "other_codes": ["310107016010-G01-M09", "310107016010-G01-M08"],
    "building_code": None,
    "measure": 419.7,
    "unit": "m2",
    "message": "420 m² of 310107016010-G01 belong to none of its micro_grid areas "
    "(next to 310107016010-G01-M09, 310107016010-G01-M08)",
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                [121.3843722, 31.2439626],
                [121.3840643, 31.2440653],
                [121.3841416, 31.2441954],
                [121.3844495, 31.2440927],
                [121.3843722, 31.2439626],
            ]
        ],
    },
    "details": {"level": "micro_grid", "width_m": 14.0, "length_m": 30.01},
}


class FindingModel(BaseModel):
    """One place where coverage breaks: what, how big, where, and who must act."""

    model_config = ConfigDict(json_schema_extra={"example": _FINDING_EXAMPLE})

    check: str = Field(description="Check name, e.g. gap, sliver, overlap, building_split.")
    severity: Literal["error", "warning", "info"]
    area_code: str | None = Field(description="The area that must act.")
    other_codes: list[str] = Field(description="Other areas involved (neighbours, siblings).")
    building_code: str | None = Field(description="The building concerned, if any.")
    measure: float = Field(description="Size of the problem, in `unit`.")
    unit: str = Field(description="m2, m, share (0–1), staff, households/member, incidents…")
    message: str = Field(description="A sentence an official can act on.")
    geometry: dict[str, Any] | None = Field(description="GeoJSON geometry, WGS-84 lon/lat.")
    details: dict[str, Any] = Field(description="Secondary measures (shares, width, lists).")


class CoverageSummary(BaseModel):
    """Counts per severity and per check, what was not run and why, what was ignored."""

    model_config = ConfigDict(extra="allow")

    error: int
    warning: int
    info: int
    by_check: dict[str, int]
    checks_run: list[str]
    not_run: dict[str, str] = Field(description="Checks that could not run, with the reason.")
    ignored: dict[str, int] = Field(description="Pieces below a noise threshold, by kind.")
    areas: int = Field(description="Areas in scope.")
    seconds: float


class CoverageReportModel(BaseModel):
    """Every finding of one run with the generation, area and thresholds used."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "generation": 1,
                "area": None,
                "thresholds": {"gap_min_m2": 10.0, "sliver_max_width_m": 2.0},
                "summary": {
                    "error": 11,
                    "warning": 145,
                    "info": 0,
                    "by_check": {"gap": 1, "sliver": 1, "overlap": 1},
                    "checks_run": ["gap", "sliver", "overlap"],
                    "not_run": {
                        "overdue_incidents": "there is no incidents table in this database yet"
                    },
                    "ignored": {},
                    "areas": 1224,
                    "seconds": 2.4,
                },
                "findings": [_FINDING_EXAMPLE],
            }
        }
    )

    generation: int
    area: str | None
    thresholds: dict[str, Any]
    summary: CoverageSummary
    findings: list[FindingModel]
