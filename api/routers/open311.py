"""``/open311/v2``: the Open311 GeoReport v2 facade (JSON). Open311 clients expect their own
error bodies (a list of ``{code, description}``), so this router answers errors that way,
with the HTTP status ``api.problems`` picks for the domain error (422 for bad input)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from api.deps import get_engine, get_settings
from api.problems import status_of
from api.routers.incidents import IntakeDep
from api.schemas.open311 import (
    Created,
    Open311Error,
    Service,
    ServiceDefinition,
    ServiceRequest,
    ServiceRequestUpdate,
)
from api.scope import CallerScope
from api.security import audit_entry, open311_reporter, require
from gis.access.roles import Principal
from gis.errors import WanggeError
from gis.incidents import open311
from gis.incidents.service import submit
from gis.settings import Settings

AnyKey = Annotated[Principal, require(None)]
router = APIRouter(prefix="/open311/v2", tags=["open311"])
EngineDep = Annotated[Engine, Depends(get_engine)]
NUMBER = r"^-?\d{1,3}(\.\d{1,12})?$"
FORM_FIELDS: dict[str, dict[str, Any]] = {
    "service_code": {"type": "string", "minLength": 1},
    "lat": {"type": "string", "pattern": NUMBER, "description": "WGS-84 latitude"},
    "long": {"type": "string", "pattern": NUMBER, "description": "WGS-84 longitude"},
    "api_key": {
        "type": "string",
        "description": "The API key, as GeoReport v2 clients send it (or use X-API-Key)",
    },
    # empty means "not given", like every optional Open311 form field
    "address_string": {
        "type": "string",
        "maxLength": 500,
        "pattern": "^[^\\x00]*$",
    },
}
Fmt = Annotated[Literal["json"], Path(description="Response format (json only)")]
CodePath = Annotated[str, Path(description="A service (category) code", examples=["garbage"])]
RequestIdPath = Annotated[str, Path(description="A service request id", examples=["1"])]
# every error under /open311/ is an Open311 error list (api.problems answers them so), the
# key's (401, 403) and the rate limit's (429) too
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": list[Open311Error], "description": "Open311 error list"}
    for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


def _answer(call: Callable[[], Any], status: int = 200) -> JSONResponse:
    try:
        return JSONResponse(call(), status_code=status)
    except WanggeError as exc:
        code, _ = status_of(exc)
        return JSONResponse([{"code": code, "description": str(exc)}], status_code=code)


def _fmt(fmt: str) -> None:
    from gis.errors import NotFound

    if fmt != "json":
        raise NotFound("only the json format is served", field="format")


@router.get(
    "/services.{fmt}",
    response_model=list[Service],
    responses=ERRORS,
    summary="Open311: the services (incident categories)",
)
def services(caller: AnyKey, fmt: Fmt, engine: EngineDep) -> Any:
    def run() -> Any:
        _fmt(fmt)
        with engine.connect() as conn:
            return open311.services(conn)

    return _answer(run)


@router.get(
    "/services/{code}.{fmt}",
    response_model=ServiceDefinition,
    responses=ERRORS,
    summary="Open311: one service's definition",
)
def service(caller: AnyKey, code: CodePath, fmt: Fmt, engine: EngineDep) -> Any:
    def run() -> Any:
        _fmt(fmt)
        with engine.connect() as conn:
            return open311.service_definition(conn, code)

    return _answer(run)


@router.get(
    "/requests.{fmt}",
    response_model=list[ServiceRequest],
    responses=ERRORS,
    summary="Open311: service requests (by ids, or codes, dates and status)",
)
def requests(
    caller: Annotated[Principal, require("incidents:read")],
    scope: CallerScope,
    fmt: Fmt,
    engine: EngineDep,
    settings: Annotated[Settings, Depends(get_settings)],
    service_request_id: Annotated[str | None, Query(description="Comma list of ids")] = None,
    service_code: Annotated[str | None, Query(description="Comma list of codes")] = None,
    start_date: Annotated[str | None, Query(description="w3 time, e.g. 2026-11-01T00:00Z")] = None,
    end_date: Annotated[str | None, Query(description="w3 time")] = None,
    status: Annotated[str | None, Query(description="open, closed or open,closed")] = None,
    updated_after: Annotated[
        str | None, Query(description="Only requests changed after this w3 time")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page number, from 1")] = 1,
    page_size: Annotated[
        int | None, Query(ge=1, le=10_000, description="Requests per page (default: the most)")
    ] = None,
    extensions: Annotated[
        bool, Query(description="Add extended_attributes: the detailed state and owner")
    ] = False,
) -> Any:
    def run() -> Any:
        _fmt(fmt)
        with engine.connect() as conn:
            return open311.get_requests(
                conn,
                service_request_id=service_request_id,
                service_code=service_code,
                start_date=start_date,
                end_date=end_date,
                status=status,
                scope=scope,
                max_requests=settings.max_page_size,
                updated_after=updated_after,
                page=page,
                page_size=page_size,
                extensions=extensions,
            )

    return _answer(run)


@router.get(
    "/servicerequestupdates.{fmt}",
    response_model=list[ServiceRequestUpdate],
    responses=ERRORS,
    summary="Open311 (FixMyStreet extension): every change of the requests in a period",
)
def request_updates(
    caller: Annotated[Principal, require("incidents:read")],
    scope: CallerScope,
    fmt: Fmt,
    engine: EngineDep,
    settings: Annotated[Settings, Depends(get_settings)],
    start_date: Annotated[
        str | None, Query(description="w3 time (default: a day before end_date)")
    ] = None,
    end_date: Annotated[str | None, Query(description="w3 time (default: now)")] = None,
) -> Any:
    """Oldest first; `update_id` grows in commit order, so a client can keep the last one."""

    def run() -> Any:
        _fmt(fmt)
        with engine.connect() as conn:
            return open311.get_updates(
                conn,
                start_date=start_date,
                end_date=end_date,
                scope=scope,
                max_updates=settings.max_page_size,
            )

    return _answer(run)


@router.get(
    "/requests/{request_id}.{fmt}",
    response_model=list[ServiceRequest],
    responses=ERRORS,
    summary="Open311: one service request",
)
def request(
    caller: Annotated[Principal, require("incidents:read")],
    scope: CallerScope,
    request_id: RequestIdPath,
    fmt: Fmt,
    engine: EngineDep,
    extensions: Annotated[
        bool, Query(description="Add extended_attributes: the detailed state and owner")
    ] = False,
) -> Any:
    def run() -> Any:
        _fmt(fmt)
        with engine.connect() as conn:
            return open311.get_request(conn, request_id, scope=scope, extensions=extensions)

    return _answer(run)


@router.post(
    "/requests.{fmt}",
    status_code=201,
    response_model=list[Created],
    responses=ERRORS,
    summary="Open311: create a service request (form: service_code, lat/long or address_string)",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            k: FORM_FIELDS.get(k, {"type": "string"})
                            for k in (
                                "service_code",
                                "lat",
                                "long",
                                "address_string",
                                "description",
                                "first_name",
                                "last_name",
                                "phone",
                                "media_url",
                                "device_id",
                                "account_id",
                                "api_key",
                            )
                        },
                        "required": ["service_code"],
                        "anyOf": [
                            {"required": ["lat", "long"]},
                            {"required": ["address_string"]},
                        ],
                        "dependentRequired": {"lat": ["long"], "long": ["lat"]},
                    }
                }
            }
        }
    },
)
async def create_request(
    caller: Annotated[Principal, Depends(open311_reporter)],
    scope: CallerScope,
    fmt: Fmt,
    request: Request,
    engine: EngineDep,
    ctx: IntakeDep,
) -> Any:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            form = {k: str(v) for k, v in orjson.loads(raw or b"{}").items()}
        except (orjson.JSONDecodeError, AttributeError):
            form = {}
    else:
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    from starlette.concurrency import run_in_threadpool

    def run() -> Any:
        _fmt(fmt)
        feature, _ = submit(
            engine,
            ctx,
            open311.incident_body(form),
            scope=scope,
            audit=audit_entry(request, caller, "incident.create"),
        )
        notice = feature["properties"]["review_reason"] or ""
        return open311.created(feature["id"], notice)

    return await run_in_threadpool(_answer, run, 201)
