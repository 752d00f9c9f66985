"""``/v1/incidents``, ``/v1/incident-categories`` and ``/v1/stats``: intake, lifecycle,
reading and statistics. Thin: parse, call ``gis.incidents``, shape the response."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Connection, Engine

from api.deps import Conn, get_engine, get_settings
from api.limits import PageLimit
from api.problems import HttpProblem, problem_responses
from api.responses import FastGeoJSONResponse, GeoJSONResponse, page_links
from api.routers.assign import FastJSONResponse
from api.schemas.incidents import (
    MAX_ID,
    TIME_PATTERN,
    BatchOut,
    Category,
    DuplicateIn,
    DuplicateOut,
    ExtensionIn,
    IncidentBatch,
    IncidentCollection,
    IncidentCreate,
    IncidentFeature,
    LocationIn,
    LocationOut,
    StatsOut,
    TransitionIn,
    TransitionOut,
)
from api.scope import CallerScope
from api.security import audit_entry, record_in, require, reveal_phones
from gis.access.roles import Principal
from gis.field import actions as field_actions
from gis.field.photos import photo_urls
from gis.incidents.categories import load_categories
from gis.incidents.copy_export import copy_csv
from gis.incidents.export import check_export_size, export_geojson
from gis.incidents.intake import IntakeContext
from gis.incidents.lifecycle import locked, transition
from gis.incidents.query import Filters, get_incident, list_incidents
from gis.incidents.relocate import link_duplicate, relocate
from gis.incidents.service import submit, submit_batch
from gis.incidents.stats import GROUPS as STAT_GROUPS
from gis.incidents.stats import stats
from gis.settings import Settings

router = APIRouter(tags=["incidents"])
EngineDep = Annotated[Engine, Depends(get_engine)]
MAX_OFFSET = 10_000_000


async def get_intake(request: Request) -> IntakeContext:  # async: no thread hand-off
    ctx: IntakeContext = request.app.state.intake
    return ctx


IntakeDep = Annotated[IntakeContext, Depends(get_intake)]
IncidentId = Annotated[
    int,
    Path(
        ge=1,
        le=MAX_ID,
        description="Incident id",
        # a demo incident still waiting for review (the demo history is deterministic)
        openapi_examples={"demo": {"value": 72}},
    ),
]


def get_filters(
    settings: Annotated[Settings, Depends(get_settings)],
    scope: CallerScope,
    status: Annotated[
        str | None, Query(description="Comma list of states", examples=["assigned,in_progress"])
    ] = None,
    category: Annotated[str | None, Query(description="Comma list of category codes")] = None,
    area: Annotated[
        str | None, Query(description="Area code; its descendants' incidents included")
    ] = None,
    bbox: Annotated[str | None, Query(description="west,south,east,north (WGS-84)")] = None,
    start: Annotated[
        str | None,
        Query(
            alias="from",
            pattern=TIME_PATTERN,
            description="reported_at ≥ this (ISO 8601; without a zone: UTC)",
            examples=["2026-11-01T00:00:00+08:00"],
        ),
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", pattern=TIME_PATTERN, description="reported_at < this")
    ] = None,
    overdue: Annotated[bool | None, Query(description="Late (due before resolution)")] = None,
    location_status: Annotated[
        Literal["ok", "needs_review"] | None, Query(description="ok or needs_review")
    ] = None,
    duplicates: Annotated[bool | None, Query(description="Only (or no) duplicates")] = None,
    source: Annotated[
        str | None, Query(description="Comma list of sources (hotline, app, patrol, camera…)")
    ] = None,
) -> Filters:
    return Filters.parse(
        status=status,
        category=category,
        area=area,
        bbox=bbox,
        start=start,
        end=end,
        overdue=overdue,
        location_status=location_status,
        duplicates=duplicates,
        max_bbox_km2=settings.max_bbox_km2,
        source=source,
        scope=scope,
    )


def _with(extra: dict[int | str, dict[str, Any]], *statuses: int) -> dict[int | str, Any]:
    """``responses=``: the given entries plus the problem statuses."""
    return {**extra, **problem_responses(*statuses)}


FiltersDep = Annotated[Filters, Depends(get_filters)]
Reader = Annotated[Principal, require("incidents:read")]
Reporter = Annotated[Principal, require("incidents:create")]
Updater = Annotated[Principal, require("incidents:update")]


@contextmanager
def update_of(
    engine: Engine,
    request: Request,
    caller: Principal,
    incident_id: int,
    action: str,
    **detail: Any,
) -> Iterator[Connection]:
    """The transaction of one update of incident ``incident_id``, audited as ``action`` in
    the same transaction when the update succeeds (the update itself takes the caller's
    scope: out of scope is not found)."""
    with engine.begin() as conn:
        yield conn
        record_in(conn, request, caller, action, f"incident/{incident_id}", **detail)


Limit = PageLimit
SettingsDep = Annotated[Settings, Depends(get_settings)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


def _page(request: Request, page: Any, limit: int, offset: int) -> GeoJSONResponse:
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
            "numberMatched": page.number_matched,
            "numberReturned": len(page.features),
            "links": links,
            "features": page.features,
        }
    )


@router.post(
    "/v1/incidents",
    status_code=201,
    response_class=GeoJSONResponse,
    response_model=IncidentFeature,
    responses=_with(
        {200: {"model": IncidentFeature, "description": "Same external_id: the stored one"}},
        400,
        413,
        422,
        503,
    ),
    summary="Report an incident (located, assigned, with its SLA due time)",
)
def create_incident(
    request: Request,
    caller: Reporter,
    scope: CallerScope,
    body: IncidentCreate,
    engine: EngineDep,
    ctx: IntakeDep,
) -> Any:
    """201 with the stored incident; the same ``external_id`` again answers 200 with the
    incident already stored (safe retries) — only its id, to a key that may not read it. An
    address that cannot be resolved, or a point outside every micro-grid, is stored with
    ``location_status: needs_review``."""
    feature, created = submit(
        engine,
        ctx,
        body.model_dump(exclude_none=True),
        scope=scope,
        audit=audit_entry(request, caller, "incident.create"),
    )
    return FastGeoJSONResponse(feature, status_code=201 if created else 200)


@router.post(
    "/v1/incidents/batch",
    response_model=BatchOut,
    responses=problem_responses(400, 413, 422, 503),
    summary="Report up to 10,000 incidents; per-item results in input order",
)
def create_incidents(
    request: Request,
    caller: Reporter,
    scope: CallerScope,
    body: IncidentBatch,
    engine: EngineDep,
    ctx: IntakeDep,
) -> Any:
    """Each item is shaped like ``POST /v1/incidents``; a bad item gets ``error`` naming
    the field while the others are stored; a known ``external_id`` answers ``created:
    false`` with the stored id."""
    answer = submit_batch(
        engine,
        ctx,
        body.incidents,
        scope=scope,
        audit=audit_entry(request, caller, "incident.create_batch"),
    )
    return FastJSONResponse(answer)


@router.get(
    "/v1/incidents",
    response_class=GeoJSONResponse,
    response_model=IncidentCollection,
    responses=problem_responses(422, 503),
    summary="List incidents (GeoJSON, paged, filtered)",
)
def incidents(
    request: Request,
    caller: Reader,
    conn: Conn,
    filters: FiltersDep,
    settings: SettingsDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Any:
    """Newest report first. Follow the ``next`` link for more."""
    page = list_incidents(
        conn,
        filters,
        limit=limit,
        offset=offset,
        max_limit=settings.max_page_size,
        reveal_phones=reveal_phones(request, caller, "incidents"),
    )
    return _page(request, page, limit, offset)


@router.get(
    "/v1/incidents/review",
    response_class=GeoJSONResponse,
    response_model=IncidentCollection,
    responses=problem_responses(422, 503),
    summary="Review queue: incidents whose location needs a person (oldest first)",
)
def review_queue(
    request: Request,
    caller: Reader,
    conn: Conn,
    filters: FiltersDep,
    settings: SettingsDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Any:
    """Unresolved addresses and points outside every micro-grid; fix one with
    ``POST /v1/incidents/{id}/location``."""
    queue = replace(filters, location_status="needs_review")
    page = list_incidents(
        conn,
        queue,
        limit=limit,
        offset=offset,
        oldest_first=True,
        max_limit=settings.max_page_size,
        reveal_phones=reveal_phones(request, caller, "incidents/review"),
    )
    return _page(request, page, limit, offset)


@router.get(
    "/v1/incidents/export.csv",
    response_class=StreamingResponse,
    responses=_with({200: {"content": {"text/csv": {}}}}, 413, 422, 503),
    summary="Export matching incidents as CSV (streamed)",
)
def export_incidents_csv(
    caller: Reader, engine: EngineDep, filters: FiltersDep, settings: SettingsDep
) -> Any:
    """Every matching incident ordered by id, streamed by PostgreSQL ``COPY … TO STDOUT``
    (no reporter names or phones; text cells a spreadsheet would run as formulas get a
    leading ``'``; times ISO 8601 in UTC); more than the configured maximum
    (WANGGE_MAX_EXPORT_ROWS) is a 413 before anything is sent."""
    check_export_size(engine, filters, max_rows=settings.max_export_rows)
    return StreamingResponse(
        copy_csv(engine, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="incidents.csv"'},
    )


@router.get(
    "/v1/incidents/export.geojson",
    response_class=StreamingResponse,
    responses=_with({200: {"content": {"application/geo+json": {}}}}, 413, 422, 503),
    summary="Export matching incidents as GeoJSON (streamed)",
)
def export_incidents_geojson(
    request: Request,
    caller: Reader,
    engine: EngineDep,
    filters: FiltersDep,
    settings: SettingsDep,
) -> Any:
    """A FeatureCollection of every matching incident, streamed feature by feature; more
    than the configured maximum (WANGGE_MAX_EXPORT_ROWS) is a 413 before anything is sent."""
    check_export_size(engine, filters, max_rows=settings.max_export_rows)
    reveal = reveal_phones(request, caller, "incidents/export.geojson")
    return StreamingResponse(
        export_geojson(engine, filters, reveal_phones=reveal),
        media_type="application/geo+json",
    )


@router.get(
    "/v1/incidents/{incident_id:int}",
    response_class=GeoJSONResponse,
    response_model=IncidentFeature,
    responses=problem_responses(404, 422, 503),
    summary="One incident with its timeline",
)
def incident(
    request: Request, caller: Reader, scope: CallerScope, incident_id: IncidentId, conn: Conn
) -> Any:
    """The incident as a Feature; ``properties.timeline`` lists every event, oldest first."""
    found = get_incident(conn, incident_id, reveal_phones=caller.sees_phones, scope=scope)
    found["properties"]["photos"] = photo_urls(conn, incident_id)  # issue 24
    reveal_phones(request, caller, f"incident/{incident_id}")  # audited once the read is done
    return GeoJSONResponse(found)


@router.post(
    "/v1/incidents/{incident_id:int}/transitions",
    response_model=TransitionOut,
    responses=problem_responses(400, 404, 409, 422, 503),
    summary="Move an incident to another state (409 names the allowed ones)",
)
def change_state(
    request: Request,
    caller: Updater,
    scope: CallerScope,
    incident_id: IncidentId,
    body: TransitionIn,
    engine: EngineDep,
    ctx: IntakeDep,
) -> Any:
    """``extended`` needs a ``note`` (the reason) and takes ``hours`` (default: the
    category's SLA); every transition becomes an event of the timeline, naming the key's
    holder (``actor`` only from keys that act for others). ``client_id`` makes a resend
    store once; ``expect_status`` refuses (409) a step on an incident that moved since."""
    if not field_actions.may_step(caller, body.to):
        raise HttpProblem(
            403, f"the {caller.role} role may not move incidents to {body.to}", field="to"
        )
    action = update_of(engine, request, caller, incident_id, "incident.transition", to=body.to)
    with action as conn:

        def step() -> dict[str, Any]:
            locked(conn, incident_id, scope)  # out of scope is absent, before anything else
            field_actions.expect(conn, incident_id, body.expect_status, scope)
            return transition(
                conn,
                incident_id,
                to=body.to,
                actor=field_actions.actor_of(conn, caller, body.actor),
                note=body.note,
                hours=body.hours if isinstance(body, ExtensionIn) else None,
                lon=body.location.lon if body.location else None,
                lat=body.location.lat if body.location else None,
                calendar=ctx.calendar,
                key=field_actions.key_of(caller),
                scope=scope,
            )

        answer, _ = field_actions.once(
            conn, caller, body.client_id, incident_id, "transition", step
        )
        return answer


@router.post(
    "/v1/incidents/{incident_id:int}/location",
    response_model=LocationOut,
    responses=problem_responses(400, 404, 409, 422, 503),
    summary="Fix an incident's location: re-geocode, re-assign, record both owners",
)
def fix_location(
    request: Request,
    caller: Updater,
    scope: CallerScope,
    incident_id: IncidentId,
    body: LocationIn,
    engine: EngineDep,
    ctx: IntakeDep,
) -> Any:
    """Body: ``lon``/``lat`` (+``crs``) or ``address`` (+``district``), and ``actor``."""
    with update_of(engine, request, caller, incident_id, "incident.location") as conn:
        locked(conn, incident_id, scope)  # out of scope is absent, whatever the body says
        return relocate(
            conn,
            ctx,
            incident_id,
            body.model_dump(exclude={"actor", "note"}),
            actor=field_actions.actor_of(conn, caller, body.actor),
            note=body.note,
            scope=scope,
        )


@router.post(
    "/v1/incidents/{incident_id:int}/duplicate",
    response_model=DuplicateOut,
    responses=problem_responses(400, 404, 409, 422, 503),
    summary="Link an incident as a duplicate (merge with close=true) or unlink it",
)
def set_duplicate(
    request: Request,
    caller: Updater,
    scope: CallerScope,
    incident_id: IncidentId,
    body: DuplicateIn,
    engine: EngineDep,
) -> Any:
    """``of`` null unlinks; a link always points at the root incident, never a chain."""
    action = update_of(engine, request, caller, incident_id, "incident.duplicate", of=body.of)
    with action as conn:
        locked(conn, incident_id, scope)  # out of scope is absent, whatever the body says
        return link_duplicate(
            conn,
            incident_id,
            of=body.of,
            actor=field_actions.actor_of(conn, caller, body.actor),
            note=body.note,
            close=body.close,
            scope=scope,
        )


@router.get(
    "/v1/incident-categories",
    response_model=list[Category],
    responses=problem_responses(503),
    summary="Incident categories with SLA, clock, duplicate rule and department",
    dependencies=[require(None)],
)
def categories(conn: Conn) -> Any:
    """Imported with ``wangge import categories FILE``."""
    return [c.as_dict() for c in load_categories(conn).values()]


@router.get(
    "/v1/stats",
    response_model=StatsOut,
    responses=problem_responses(422, 503),
    summary="Counts, resolution rate, times to assignment and resolution, overdue",
)
def incident_stats(
    request: Request,
    caller: Annotated[Principal, require("stats")],
    conn: Conn,
    filters: FiltersDep,
    group_by: Annotated[
        str,
        Query(
            description="category, area (owning micro-grid), an area level (street, "
            "community, grid, micro_grid…: the ancestor there), department, source, status, "
            "day, week or month (local time)",
            json_schema_extra={"enum": list(STAT_GROUPS)},
        ),
    ] = "category",
    compare: Annotated[
        Literal["previous"] | None,
        Query(description="previous: also the period of equal length before from–to"),
    ] = None,
) -> Any:
    """Figures over the matching incidents (``area`` includes descendants; ``from``/``to``
    bound ``reported_at``); times in seconds from the report; days, weeks (keyed by their
    Monday) and months in local time; on_time_rate = resolved by the due time / resolved."""
    settings: Settings = request.app.state.settings
    return stats(
        conn,
        filters,
        group_by=group_by,
        timezone=settings.incident_timezone,
        compare=compare,
    )
