"""``/v1/coverage``: the coverage report as JSON or as a GeoJSON FeatureCollection."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from api.deps import Conn
from api.problems import problem_responses
from api.responses import GeoJSONResponse
from api.schemas.coverage import CoverageReportModel
from api.scope import CallerScope
from api.security import require
from gis.access.roles import Principal
from gis.coverage import CoverageReport, run_coverage
from gis.coverage.registry import CHECKS, GROUPS
from gis.events.outbox import coverage_report

router = APIRouter(prefix="/v1", tags=["coverage"])

Area = Annotated[
    str | None,
    Query(
        max_length=200,
        description="Check this area and everything below it (default: the whole generation).",
        examples=["310107016010"],
    ),
]
#: a comma-separated list of check or group names (empty items ignored, as the server does)
_NAME = "|".join([*CHECKS, *GROUPS])
CHECKS_PATTERN = rf"^\s*({_NAME})?\s*(,\s*({_NAME})?\s*)*$"
Checks = Annotated[
    str | None,
    Query(
        max_length=2000,
        pattern=CHECKS_PATTERN,
        description="Comma-separated check names or groups (spatial, hierarchy, buildings, "
        "people, services, incidents); default all.",
        examples=["gap,overlap,sliver"],
    ),
]
Generation = Annotated[
    int | None,
    Query(ge=1, le=2_147_483_647, description="Boundary generation (default: the current one)."),
]
_FEATURES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "FeatureCollection of findings; properties are the finding fields.",
        "content": {"application/geo+json": {"schema": {"type": "object"}}},
    }
}


def get_report(
    request: Request,
    caller: Annotated[Principal, require("coverage")],
    scope: CallerScope,
    conn: Conn,
    area: Area = None,
    checks: Checks = None,
    generation: Generation = None,
) -> CoverageReport:
    """The report for the request's ``area``, ``checks`` and ``generation``, with the
    deployment's threshold overrides."""
    thresholds = request.app.state.settings.coverage_thresholds
    report = run_coverage(
        conn, area=area, checks=checks, generation=generation, thresholds=thresholds, scope=scope
    )
    with request.app.state.engine.begin() as written:  # issue 26: the run's event
        coverage_report(written, report)
    return report


Report = Annotated[CoverageReport, Depends(get_report)]


@router.get(
    "/coverage",
    response_model=CoverageReportModel,
    responses={**problem_responses(404, 422, 503), **_FEATURES},
    summary="Coverage report: gaps, overlaps, slivers, unstaffed grids, unserved households",
)
def coverage(
    report: Report,
    f: Annotated[
        Literal["json", "geojson"],
        Query(description="json (the report) or geojson (a FeatureCollection of findings)."),
    ] = "json",
) -> Any:
    """Every coverage finding of the generation (or of one area and below), with the
    thresholds used and a summary. 404 for an unknown area or generation, 422 for an
    unknown check."""
    if f == "geojson":
        return GeoJSONResponse(report.as_geojson())
    return report.as_dict()


@router.get(
    "/coverage.geojson",
    response_class=GeoJSONResponse,
    responses={**_FEATURES, **problem_responses(404, 422, 503)},
    summary="Coverage findings as a GeoJSON FeatureCollection",
)
def coverage_geojson(report: Report) -> Any:
    """The findings of ``/v1/coverage`` as Features (for maps and GIS tools)."""
    return GeoJSONResponse(report.as_geojson())
