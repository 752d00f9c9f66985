"""``/v1/assign``: which area (and who) is responsible for a point, a batch of points, or a
building. Thin: parse, call ``gis.assign``, shape the response."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.problems import problem_responses
from api.schemas import body_schema
from api.schemas.assign import (
    CRS_DESCRIPTION,
    AssignAnswer,
    BatchAnswer,
    BatchRequest,
    BuildingsAnswer,
    BuildingsRequest,
)
from api.schemas.common import GenerationParam, IsoDateTime, LevelName
from api.scope import CallerScope
from api.security import mask_staff, require
from gis.access.roles import Principal
from gis.assign.batch import assign_batch, gc_paused, parse_batch
from gis.assign.buildings import assign_buildings
from gis.assign.service import MAX_ACCURACY_M, MAX_DISTANCE_M, Assigner, assign_point
from gis.crs import DOCUMENTED_CRS
from gis.errors import InvalidInput, PayloadTooLarge
from gis.settings import Settings

router = APIRouter(prefix="/v1/assign", tags=["assignment"])


class FastJSONResponse(JSONResponse):
    """JSON rendered with orjson (10× faster than json for 100k-item batches)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


async def get_assigner(request: Request) -> Assigner:  # async: no thread hand-off
    assigner: Assigner = request.app.state.assigner
    return assigner


AssignerDep = Annotated[Assigner, Depends(get_assigner)]
AssignCaller = Annotated[Principal, require("assign")]
AsOf = Annotated[
    IsoDateTime | None, Query(description="Use the generation current at this time (ISO 8601).")
]
Level = Annotated[
    LevelName | None,
    Query(description="Level to assign to (default micro_grid, or the deepest level present)."),
]


@router.get(
    "",
    response_class=FastJSONResponse,
    response_model=AssignAnswer,
    responses=problem_responses(404, 422, 503),
    summary="Owner of one point, with its chain, staff and nearest area",
)
async def assign(
    caller: AssignCaller,
    scope: CallerScope,
    assigner: AssignerDep,
    lon: Annotated[
        float, Query(description="Longitude (or x for a projected EPSG crs).", examples=[121.4015])
    ],
    lat: Annotated[float, Query(description="Latitude (or y).", examples=[31.2489])],
    crs: Annotated[
        str,
        Query(
            description=CRS_DESCRIPTION,
            max_length=32,
            json_schema_extra={"enum": list(DOCUMENTED_CRS)},
        ),
    ] = "wgs84",
    level: Level = None,
    accuracy_m: Annotated[
        float | None,
        Query(
            gt=0,
            le=MAX_ACCURACY_M,
            description="Fix accuracy in metres (0 < accuracy_m ≤ 10,000): if the circle "
            "touches several areas the answer is marked ambiguous with each area's share.",
        ),
    ] = None,
    max_distance_m: Annotated[
        float | None,
        Query(
            ge=0,
            le=MAX_DISTANCE_M,
            description="Only report a nearest area within this distance (0..1,000,000 m).",
        ),
    ] = None,
    generation: GenerationParam = None,
    as_of: AsOf = None,
) -> Any:
    """Owner by ``covers`` (boundary counts); ties go to the smallest code and the others are
    listed in ``also_covered_by``. Outside every area: ``owner: null`` and ``nearest``.
    With the database away, answers come from this worker's index and last roster
    (``roster_stale: true``)."""
    work = partial(
        assign_point,
        assigner,
        lon=lon,
        lat=lat,
        crs=crs,
        level=level,
        generation=generation,
        as_of=as_of,
        accuracy_m=accuracy_m,
        max_distance_m=max_distance_m,
        scope=scope,
    )
    # the usual case answers from memory in microseconds: in the event loop, no thread
    # hand-off (issue 28); whatever may touch the database (a poll due, an index or roster
    # to load, as_of) or is slow (a circle's shares) goes to the thread pool
    if accuracy_m is None and assigner.answers_from_memory(
        generation=generation, as_of=as_of, level=level
    ):
        result = work()
    else:
        result = await run_in_threadpool(work)
    result["input"] = {"lon": lon, "lat": lat, "crs": crs}
    if caller.role == "anonymous":
        result = mask_staff(result)
    return FastJSONResponse(result)


BATCH_EXAMPLE = {
    "crs": "wgs84",
    "level": "micro_grid",
    "points": [
        {"id": "call-1", "lon": 121.4015, "lat": 31.2489},
        {"id": "call-2", "lon": 121.3950, "lat": 31.2430},
    ],
}


async def read_json_body(request: Request, settings: Settings) -> Any:
    """The request body parsed as JSON, refusing bodies over the configured size (413)."""
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"body of {declared} bytes; at most {limit}", field="body", limit=limit
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body over {limit} bytes", field="body", limit=limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        raise InvalidInput("empty body; send JSON", field="body")
    try:
        with gc_paused():  # a 100k-item body is millions of objects, none of them cyclic
            return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"not valid JSON: {exc}", field="body") from None


@router.post(
    "/batch",
    response_class=FastJSONResponse,
    response_model=BatchAnswer,
    responses=problem_responses(404, 413, 422, 503),
    summary="Owners of up to 100,000 points, in input order",
    openapi_extra=body_schema(BatchRequest, "BatchRequest", example=BATCH_EXAMPLE),
)
async def assign_many(
    request: Request,
    caller: AssignCaller,
    scope: CallerScope,
    assigner: AssignerDep,
    generation: GenerationParam = None,
    as_of: AsOf = None,
) -> Any:
    """Body: ``{"points": [{"id", "lon", "lat"}, …], "crs", "level", "max_distance_m"}`` or
    a GeoJSON FeatureCollection of points. Each result carries its ``id``; a bad point gets
    ``error`` (naming the field) while the others are answered."""
    settings: Settings = request.app.state.settings
    body = await read_json_body(request, settings)
    batch = parse_batch(body, max_points=settings.batch_max_points)
    result = await run_in_threadpool(
        assign_batch, assigner, batch, generation=generation, as_of=as_of, scope=scope
    )
    return FastJSONResponse(result)


@router.post(
    "/buildings",
    response_class=FastJSONResponse,
    response_model=BuildingsAnswer,
    responses=problem_responses(404, 413, 422, 503),
    summary="Owner of each building polygon by largest share of its area",
    openapi_extra=body_schema(BuildingsRequest, "BuildingsRequest"),
)
async def assign_building_polygons(
    request: Request,
    caller: AssignCaller,
    scope: CallerScope,
    assigner: AssignerDep,
    generation: GenerationParam = None,
    as_of: AsOf = None,
) -> Any:
    """Body: a GeoJSON FeatureCollection of (multi)polygons (optional top-level ``crs`` and
    ``level``). Each result lists every area the building touches with its share."""
    settings: Settings = request.app.state.settings
    body = await read_json_body(request, settings)
    result = await run_in_threadpool(
        assign_buildings,
        assigner,
        body,
        generation=generation,
        as_of=as_of,
        max_features=settings.batch_max_points,
        scope=scope,
        max_vertices=settings.max_polygon_vertices,
    )
    return FastJSONResponse(result)
