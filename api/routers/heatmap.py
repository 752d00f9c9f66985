"""``/v1/heatmap``: incidents per H3 cell with rates and Gi* hotspots (GeoJSON)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from api.deps import Conn, GenerationNumber, get_settings
from api.problems import problem_responses
from api.responses import GeoJSONResponse
from api.schemas.maps import Heatmap
from api.scope import CallerScope
from api.security import require
from gis.access.roles import Principal
from gis.areas.query import BBox
from gis.heat.service import HeatQuery, heatmap, parse_instant
from gis.settings import Settings

router = APIRouter(prefix="/v1", tags=["maps"])


def categories(value: str | None) -> tuple[str, ...]:
    """Comma-separated categories as a tuple (empty: all)."""
    return tuple(c.strip() for c in (value or "").split(",") if c.strip())


def _instant(alias: str, what: str, example: str) -> Any:
    return Query(
        alias=alias,
        description=f"{what} (ISO 8601; no offset: WANGGE_INCIDENT_TIMEZONE)",
        json_schema_extra={"format": "date-time"},
        examples=[example],
    )


def heat_filters(
    settings: Annotated[Settings, Depends(get_settings)],
    start: Annotated[
        str | None, _instant("from", "reported at or after", "2026-11-01T00:00:00+08:00")
    ] = None,
    end: Annotated[
        str | None, _instant("to", "reported before", "2026-12-01T00:00:00+08:00")
    ] = None,
    category: Annotated[str | None, Query(description="comma-separated categories")] = None,
    normalize: Annotated[
        Literal["households"] | None, Query(description="households: rate per 1,000")
    ] = None,
    confidence: Annotated[
        int,
        # an enum in the document (a query string is not coerced to a Literal int)
        Query(
            ge=90, le=99, description="90, 95 or 99 (%)", json_schema_extra={"enum": [90, 95, 99]}
        ),
    ] = 95,
) -> HeatQuery:
    """The time, category, rate and significance filters the heatmap and the heat page share."""
    return HeatQuery(
        start=parse_instant(start, field="from", timezone=settings.incident_timezone),
        end=parse_instant(end, field="to", timezone=settings.incident_timezone),
        categories=categories(category),
        normalize=normalize,
        confidence=confidence,
    )


HeatFilters = Annotated[HeatQuery, Depends(heat_filters)]


@router.get(
    "/heatmap",
    response_class=GeoJSONResponse,
    responses={
        200: {"model": Heatmap, "content": {"application/geo+json": {}}},
        **problem_responses(404, 422, 503),
    },
    summary="Incidents per H3 hexagon: counts, rate per 1,000 households, Gi* hotspots",
)
def heatmap_route(
    caller: Annotated[Principal, require("maps")],
    scope: CallerScope,
    conn: Conn,
    settings: Annotated[Settings, Depends(get_settings)],
    generation: GenerationNumber,
    filters: HeatFilters,
    res: Annotated[int, Query(ge=0, le=15, description="H3 resolution")] = 9,
    bbox: Annotated[
        str | None,
        Query(description="west,south,east,north (WGS-84)", examples=["121.39,31.24,121.41,31.26"]),
    ] = None,
    area: Annotated[str | None, Query(description="only inside this area code")] = None,
) -> Any:
    """Hexagons holding incidents and their 1-ring, with the hotspot rule stated."""
    box = BBox.parse(bbox, max_km2=settings.max_bbox_km2) if bbox else None
    query = replace(filters, res=res, bbox=box, area=area)
    return GeoJSONResponse(heatmap(conn, query, generation=generation, scope=scope))
