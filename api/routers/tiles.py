"""``/tiles/{layer}/{z}/{x}/{y}.pbf``: Mapbox vector tiles with ETags."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from api.deps import Conn, GenerationNumber
from api.problems import problem_responses
from api.schemas.common import LevelName
from api.scope import CallerScope
from api.security import permit, require
from gis.access.roles import Principal
from gis.tiles import MAX_ZOOM, TileRequest, render_tile, tile_etag

router = APIRouter(tags=["maps"])
MVT = "application/vnd.mapbox-vector-tile"


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.pbf",
    response_class=Response,
    responses={
        200: {"description": "A Mapbox vector tile (possibly empty).", "content": {MVT: {}}},
        304: {"description": "Not modified: the If-None-Match ETag is still current."},
        **problem_responses(404, 422, 503),
    },
    summary="Vector tile of areas (by level), buildings, facilities or incidents",
)
def tile(
    request: Request,
    caller: Annotated[Principal, require("maps")],
    scope: CallerScope,
    conn: Conn,
    generation: GenerationNumber,
    layer: Annotated[
        Literal["areas", "buildings", "facilities", "incidents"],
        Path(description="areas, buildings, facilities or incidents"),
    ],
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM)],
    x: Annotated[int, Path(ge=0, le=2**MAX_ZOOM - 1)],
    y: Annotated[int, Path(ge=0, le=2**MAX_ZOOM - 1)],
    level: Annotated[LevelName | None, Query(description="areas: only this level")] = None,
    status: Annotated[
        Literal["open", "all"], Query(description="incidents: open (default) or all")
    ] = "open",
    category: Annotated[str | None, Query(description="incidents: only this category")] = None,
) -> Response:
    """One tile in Web Mercator (XYZ); the ETag changes with the generation and the data."""
    if layer == "incidents":  # their points and text are incident data
        permit(caller, "incidents:read")
    req = TileRequest(
        layer,
        z,
        x,
        y,
        generation,
        level=level,
        status=status,
        category=category,
        scope=scope,
        timezone=request.app.state.settings.incident_timezone,
    )
    etag = tile_etag(conn, req)
    # private: what a tile holds depends on the caller's key (its scope)
    headers = {"ETag": etag, "Cache-Control": "private, max-age=0, must-revalidate"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(render_tile(conn, req), media_type=MVT, headers=headers)
