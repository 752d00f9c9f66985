"""``/v1/areas``: the grid hierarchy as GeoJSON, paged."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.deps import Conn, GenerationNumber, get_settings
from api.limits import PageLimit
from api.problems import problem_responses
from api.responses import GeoJSONResponse, page_links
from api.schemas.areas import AreaCollection, AreaDetail
from api.schemas.common import MAX_OFFSET, LevelName
from api.scope import CallerScope
from api.security import require
from gis.access.roles import Principal
from gis.areas.query import BBox, get_area, list_areas
from gis.settings import Settings

BBOX_PATTERN = r"^\s*-?\d+(\.\d+)?(\s*,\s*-?\d+(\.\d+)?){3}\s*$"

router = APIRouter(prefix="/v1/areas", tags=["areas"])


@router.get(
    "",
    response_class=GeoJSONResponse,
    response_model=AreaCollection,
    responses=problem_responses(404, 422, 503),
    summary="List areas as a GeoJSON FeatureCollection (paged)",
)
def areas(
    request: Request,
    caller: Annotated[Principal, require("areas:read")],
    scope: CallerScope,
    conn: Conn,
    generation: GenerationNumber,
    settings: Annotated[Settings, Depends(get_settings)],
    level: Annotated[
        LevelName | None,
        Query(description="district, street, community, grid, micro_grid, block or corridor"),
    ] = None,
    parent: Annotated[str | None, Query(description="Only children of this area code")] = None,
    bbox: Annotated[
        str | None,
        Query(
            description="west,south,east,north in WGS-84 degrees "
            "(-180 ≤ west ≤ east ≤ 180, -90 ≤ south ≤ north ≤ 90)",
            examples=["121.39,31.24,121.41,31.26"],
            pattern=BBOX_PATTERN,
        ),
    ] = None,
    limit: PageLimit = 100,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description=f"Features to skip, 0..{MAX_OFFSET:,}.")
    ] = 0,
) -> Any:
    """Areas of one generation ordered by code. Follow the ``next`` link for more."""
    page = list_areas(
        conn,
        generation=generation,
        level=level,
        parent=parent,
        bbox=BBox.parse(bbox, max_km2=settings.max_bbox_km2) if bbox else None,
        limit=limit,
        offset=offset,
        scope=scope,
        max_limit=settings.max_page_size,
    )
    links = page_links(
        request,
        offset=offset,
        limit=limit,
        returned=len(page.features),
        matched=page.number_matched,
    )
    return GeoJSONResponse(
        {
            "type": "FeatureCollection",
            "generation": page.generation,
            "numberMatched": page.number_matched,
            "numberReturned": len(page.features),
            "links": links,
            "features": page.features,
        }
    )


@router.get(
    "/{code}",
    response_class=GeoJSONResponse,
    response_model=AreaDetail,
    responses=problem_responses(404, 422, 503),
    summary="One area with its ancestor chain, child count and staff",
)
def area(
    code: str,
    caller: Annotated[Principal, require("areas:read")],
    scope: CallerScope,
    conn: Conn,
    generation: GenerationNumber,
) -> Any:
    """The area as a GeoJSON Feature; 404 problem if the code is unknown in the generation
    (or outside the key's scope: the same answer, by the same query)."""
    return GeoJSONResponse(get_area(conn, code, generation=generation, scope=scope))
