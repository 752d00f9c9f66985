"""``/v1/patrols``: record a patrol (GPX or JSON upload; start, batches, end from the phone),
read patrols within the privacy rules, and patrol coverage (issue 27)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, TypeAdapter, ValidationError
from sqlalchemy import Engine

from api.deps import Conn, get_engine
from api.problems import problem_responses
from api.schemas.common import IsoDateTime
from api.scope import CallerScope
from api.security import audit_entry, require
from gis.access import Principal
from gis.coverage.thresholds import Thresholds, resolve_thresholds
from gis.errors import InvalidInput
from gis.labels import local_time
from gis.patrols.coverage import patrol_coverage
from gis.patrols.fixes import Fixes, from_points
from gis.patrols.gpx import parse_gpx
from gis.patrols.page import patrol_page
from gis.patrols.read import get_patrol, list_patrols
from gis.patrols.store import append_fixes, end_patrol, start_patrol, upload_patrol
from gis.settings import Settings
from gis.store.db import database_errors

router = APIRouter(prefix="/v1/patrols", tags=["patrols"])
pages = APIRouter(tags=["patrols"])

EngineDep = Annotated[Engine, Depends(get_engine)]
Member = Annotated[Principal, require("patrols")]
GPX_TYPES = ("application/gpx+xml", "application/gpx", "application/xml", "text/xml")


class Point(BaseModel):
    """One GPS fix as the phone reports it."""

    model_config = ConfigDict(extra="forbid")

    # strict numbers: JSON's true/false or "1.5" are not coordinates (a JSON integer is)
    lon: StrictFloat = Field(description="Longitude in `crs`.", allow_inf_nan=False)
    lat: StrictFloat = Field(description="Latitude in `crs`.", allow_inf_nan=False)
    t: IsoDateTime = Field(description="When the fix was taken (ISO 8601; no zone: UTC).")
    accuracy_m: StrictFloat | None = Field(
        default=None, ge=0, le=1e6, description="Reported horizontal accuracy (m)."
    )
    ele_m: StrictFloat | None = Field(
        default=None, ge=-1000, le=10000, description="Elevation (m)."
    )


class Upload(BaseModel):
    """A whole recorded patrol as JSON points."""

    model_config = ConfigDict(extra="forbid")

    crs: str = Field(default="wgs84", max_length=40, description="wgs84, gcj02, bd09 or EPSG:n.")
    points: list[Point] = Field(description="The fixes, any order.")


class Batch(BaseModel):
    """Fixes the phone buffered, sent together; ``batch_id`` makes a resend harmless."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
    crs: str = Field(default="wgs84", max_length=40)
    points: list[Point] = Field(max_length=10_000)


_UPLOAD = TypeAdapter(Upload)


def _thresholds(request: Request) -> Thresholds:
    settings: Settings = request.app.state.settings
    return resolve_thresholds(settings.coverage_thresholds)


def _local(request: Request, answer: dict[str, Any]) -> dict[str, Any]:
    """Visit times also in local time to the minute (gis.labels), for the phone page."""
    settings: Settings = request.app.state.settings
    for v in answer.get("visits") or []:
        v["visited_at_local"] = local_time(v["visited_at"], settings.incident_timezone)
    return answer


def _points(body: Upload | Batch, settings: Settings) -> Fixes:
    return from_points(
        [p.model_dump() for p in body.points], crs=body.crs, max_fixes=settings.patrol_max_fixes
    )


def _parse_upload(request: Request, raw: bytes, settings: Settings) -> tuple[Fixes, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in GPX_TYPES:
        return parse_gpx(raw, max_fixes=settings.patrol_max_fixes), "gpx"
    if kind in ("application/json", ""):
        try:
            body = _UPLOAD.validate_json(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "body"
            raise InvalidInput(error["msg"], field=where) from None
        return _points(body, settings), "json"
    raise InvalidInput(
        f"send GPX ({GPX_TYPES[0]}) or JSON points (application/json), not {kind!r}",
        field="Content-Type",
    )


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$defs`` written in place: a document-relative ``#/$defs/...``
    reference means nothing inside an OpenAPI document (ReDoc and validators refuse it)."""
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result


@router.post(
    "",
    status_code=201,
    responses=problem_responses(401, 403, 413, 415, 422, 503),
    summary="Upload a recorded patrol: a GPX file or JSON points",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/gpx+xml": {"schema": {"type": "string"}},
                "application/json": {"schema": _inlined(Upload.model_json_schema())},
            },
        }
    },
)
async def upload(request: Request, member: Member, scope: CallerScope, engine: EngineDep) -> Any:
    """A patrol recorded elsewhere: GPX (`<trk><trkseg><trkpt lat lon><ele/><time/>`) or
    `{"crs", "points": [{"lon", "lat", "t", "accuracy_m"}]}`. It is cleaned, measured and its
    visited buildings found; 201 with the patrol's `id`. Bad input (not XML, a point without
    a time, coordinates out of range, too many points) is refused whole, naming the field."""
    settings: Settings = request.app.state.settings
    raw = await request.body()
    thresholds = _thresholds(request)

    def work() -> Any:
        fixes, source = _parse_upload(request, raw, settings)
        with database_errors(), engine.begin() as conn:
            return upload_patrol(
                conn,
                member,
                fixes,
                source=source,
                thresholds=thresholds,
                scope=scope,
                max_fixes=settings.patrol_max_fixes,
                audit=audit_entry(request, member, "patrol.upload"),
            )

    return _local(request, await run_in_threadpool(work))


@router.post(
    "/start",
    status_code=201,
    responses=problem_responses(401, 403, 503),
    summary="Start a patrol (the phone page)",
)
def start(request: Request, member: Member, scope: CallerScope, engine: EngineDep) -> Any:
    """An open patrol of the caller; send fixes to `/v1/patrols/{id}/fixes`, then end it."""
    with database_errors(), engine.begin() as conn:
        return start_patrol(
            conn,
            member,
            thresholds=_thresholds(request),
            scope=scope,
            audit=audit_entry(request, member, "patrol.start"),
        )


PatrolId = Annotated[int, Path(ge=1, le=2**62, description="The patrol's id.")]


@router.post(
    "/{patrol_id}/fixes",
    responses=problem_responses(401, 403, 404, 409, 413, 422, 503),
    summary="Add a batch of fixes to an open patrol (idempotent by batch_id)",
)
def add_fixes(
    request: Request, member: Member, engine: EngineDep, patrol_id: PatrolId, body: Batch
) -> Any:
    """Stores the batch once: the same `batch_id` again (an offline resend) stores nothing
    and answers `duplicate_batch: true`. 409 once the patrol has ended."""
    settings: Settings = request.app.state.settings
    fixes = _points(body, settings)
    with database_errors(), engine.begin() as conn:
        return append_fixes(
            conn,
            member,
            patrol_id,
            fixes,
            batch_id=body.batch_id,
            max_fixes=settings.patrol_max_fixes,
        )


@router.post(
    "/{patrol_id}/end",
    responses=problem_responses(401, 403, 404, 503),
    summary="End a patrol: clean the track and find the buildings visited",
)
def end(request: Request, member: Member, engine: EngineDep, patrol_id: PatrolId) -> Any:
    """The ended patrol with what was dropped, distance, time, geofence notes and visits."""
    with database_errors(), engine.begin() as conn:
        answer = end_patrol(
            conn,
            member,
            patrol_id,
            thresholds=_thresholds(request),
            audit=audit_entry(request, member, "patrol.end"),
        )
    return _local(request, answer)


When = Annotated[IsoDateTime | None, Query(description="ISO 8601 time.")]


@router.get(
    "",
    responses=problem_responses(401, 403, 422, 503),
    summary="Patrols the caller may read (summaries, newest first)",
)
def patrols(
    member: Member,
    scope: CallerScope,
    conn: Conn,
    start: Annotated[
        IsoDateTime | None, Query(alias="from", description="Started at or after.")
    ] = None,
    end: Annotated[IsoDateTime | None, Query(alias="to", description="Started before.")] = None,
    mine: Annotated[bool, Query(description="Only the caller's own patrols.")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """A member sees her own patrols; officials those recorded in their scope; admins all."""
    items, total = list_patrols(
        conn, member, scope, start=start, end=end, mine=mine, limit=limit, offset=offset
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/coverage",
    responses=problem_responses(401, 403, 404, 422, 503),
    summary="Patrol coverage: buildings and households visited per micro-grid",
)
def coverage(
    request: Request,
    member: Member,
    scope: CallerScope,
    conn: Conn,
    area: Annotated[str | None, Query(max_length=200, description="This area and below.")] = None,
    start: Annotated[
        IsoDateTime | None, Query(alias="from", description="Default: `to` − patrol_window_days.")
    ] = None,
    end: Annotated[IsoDateTime | None, Query(alias="to", description="Default: now.")] = None,
) -> Any:
    """`micro_grids` (code, buildings, buildings_visited, households, households_visited),
    `buildings` (code, visited, last_visit, visits) and per member the distance walked (m)
    and time on patrol (s), in `[from, to)`."""
    return patrol_coverage(
        conn, area=area, start=start, end=end, thresholds=_thresholds(request), scope=scope
    )


@router.get(
    "/{patrol_id:int}",  # an int convertor: /v1/patrols/start is not a patrol id (405)
    responses=problem_responses(401, 403, 404, 503),
    summary="One patrol with its track and visited buildings",
)
def patrol(
    request: Request,
    member: Member,
    scope: CallerScope,
    engine: EngineDep,
    patrol_id: PatrolId,
    fixes: Annotated[bool, Query(description="Include the raw fixes.")] = False,
) -> Any:
    """404 for a patrol the caller may not read, as for an unknown id. Reading another
    person's track is audited."""
    with database_errors(), engine.begin() as conn:
        return get_patrol(
            conn,
            member,
            scope,
            patrol_id,
            with_fixes=fixes,
            audit=audit_entry(request, member, "patrol.read"),
        )


@pages.get(
    "/patrol",
    response_class=HTMLResponse,
    responses=problem_responses(401, 403),
    summary="The phone's patrol page (巡查)",
)
def page(request: Request, member: Member) -> HTMLResponse:
    """Start, walk with the screen on, end: fixes from the browser's geolocation, sent in
    batches and queued offline. Signed in by the browser's session cookie (or a key)."""
    session = getattr(request.state, "session", None)
    token = str(getattr(session, "csrf_token", "") or "")
    return HTMLResponse(
        patrol_page(who=member.name, csrf=token), headers={"Cache-Control": "no-store"}
    )


@pages.get(
    "/maps/patrols",
    response_class=HTMLResponse,
    responses=problem_responses(401, 403, 404, 422, 503),
    summary="Patrol map: tracks and the residential buildings nobody visited",
)
def patrol_map_page(
    request: Request,
    member: Member,
    scope: CallerScope,
    engine: EngineDep,
    start: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    end: Annotated[IsoDateTime | None, Query(alias="to")] = None,
    basemap: Annotated[str, Query(max_length=40)] = "osm",
) -> HTMLResponse:
    """Tracks the caller may read (another person's drawn here is audited) and unvisited
    residential buildings in `[from, to)` (default the last patrol_window_days)."""
    from api.routers.maps import _options
    from gis.areas.generations import current_generation
    from gis.patrols.map_page import patrol_map

    settings: Settings = request.app.state.settings
    with database_errors(), engine.begin() as conn:
        opts = _options(request, member, scope, basemap, current_generation(conn) or 1)
        html = patrol_map(
            conn,
            opts,
            member,
            start=start,
            end=end,
            thresholds=_thresholds(request),
            timezone=settings.incident_timezone,
            audit=audit_entry(request, member, "patrol.read"),
        )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
