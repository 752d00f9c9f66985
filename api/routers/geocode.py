"""``/v1/geocode`` and ``/v1/reverse``: free-text Chinese addresses to standard addresses and
their owning micro-grid, and points to the nearest standard address. Thin: parse, call
``gis.geocode.service``, shape the response."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from api.problems import problem_responses
from api.routers.assign import AssignerDep, FastJSONResponse, read_json_body
from api.schemas import body_schema
from api.schemas.geocode import (
    BATCH_EXAMPLE,
    BatchRequest,
    BatchResponse,
    Geocoded,
    Reversed,
)
from api.scope import CallerScope
from api.security import require
from gis.access.roles import Principal
from gis.crs import DATUMS
from gis.geocode.cache import GazetteerCache
from gis.geocode.service import (
    ADDRESS_MAX_CHARS,
    BATCH_MAX,
    REVERSE_MAX,
    geocode_address,
    geocode_batch,
    reverse_geocode,
)
from gis.settings import Settings

router = APIRouter(tags=["geocoding"])


def get_gazetteer(request: Request) -> GazetteerCache:
    cache: GazetteerCache = request.app.state.gazetteer
    return cache


GazetteerDep = Annotated[GazetteerCache, Depends(get_gazetteer)]
GeocodeCaller = Annotated[Principal, require("geocode")]
District = Annotated[
    str | None,
    Query(
        max_length=20,
        description="Only match within this district (普陀区 or 普陀); unknown: searched "
        "everywhere and marked needs_review.",
    ),
]


@router.get(
    "/v1/geocode",
    response_model=Geocoded,
    response_class=FastJSONResponse,
    responses=problem_responses(422, 503),
    summary="A free-text address → standard address, WGS-84 point and owning micro-grid",
)
def geocode(
    caller: GeocodeCaller,
    scope: CallerScope,
    gazetteer: GazetteerDep,
    assigner: AssignerDep,
    address: Annotated[
        str,
        Query(
            min_length=1,
            max_length=ADDRESS_MAX_CHARS,
            pattern=r"\S",  # not only spaces
            description="The address as written (numerals, widths, prefixes, trailing words "
            "are normalised).",
            examples=["上海市普陀区管弄路二二七弄9号楼门口"],
        ),
    ],
    district: District = None,
) -> Any:
    """Numbers must match exactly; only the road name matches loosely (homophones, a missing
    路). A number that is not on the road answers ``needs_review: true`` with candidates and
    no point — never the nearest number."""
    return FastJSONResponse(
        geocode_address(gazetteer, assigner, address=address, district=district, scope=scope)
    )


@router.post(
    "/v1/geocode/batch",
    response_model=BatchResponse,
    response_class=FastJSONResponse,
    responses=problem_responses(413, 422, 503),
    summary=f"Up to {BATCH_MAX:,} addresses (WANGGE_GEOCODE_BATCH_MAX), results in input order",
    openapi_extra=body_schema(BatchRequest, "GeocodeBatchRequest", example=BATCH_EXAMPLE),
)
async def geocode_many(
    request: Request,
    caller: GeocodeCaller,
    scope: CallerScope,
    gazetteer: GazetteerDep,
    assigner: AssignerDep,
) -> Any:
    """Body: ``{"addresses": [{"id", "address", "district"} | "text", …], "district"}``. A bad
    item gets ``error`` naming its field while the others are answered."""
    settings: Settings = request.app.state.settings
    body = await read_json_body(request, settings)
    result = await run_in_threadpool(
        geocode_batch,
        gazetteer,
        assigner,
        body,
        scope,
        max_items=settings.geocode_batch_max,
    )
    return FastJSONResponse(result)


@router.get(
    "/v1/reverse",
    response_model=Reversed,
    response_class=FastJSONResponse,
    responses=problem_responses(422, 503),
    summary="The standard address nearest a point, and the areas owning the point",
)
def reverse(
    caller: GeocodeCaller,
    scope: CallerScope,
    gazetteer: GazetteerDep,
    assigner: AssignerDep,
    lon: Annotated[
        float,
        Query(ge=-180, le=180, description="Longitude (WGS-84 unless crs).", examples=[121.4015]),
    ],
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude.", examples=[31.2489])],
    crs: Annotated[
        str, Query(description="wgs84, gcj02 or bd09.", json_schema_extra={"enum": list(DATUMS)})
    ] = "wgs84",
    limit: Annotated[
        int, Query(ge=1, le=REVERSE_MAX, description="How many nearest addresses to list.")
    ] = 1,
) -> Any:
    """``nearest`` is the closest standard address with ``distance_m`` (ellipsoidal metres);
    ``areas`` the owner and chain from the assignment service (null with no boundaries)."""
    return FastJSONResponse(
        reverse_geocode(gazetteer, assigner, lon=lon, lat=lat, crs=crs, limit=limit, scope=scope)
    )
