"""Incident photos: upload (at intake or with any step; 处置前/处置后), read (scope applies),
delete (audited). The rules for the files are :mod:`gis.field.photos`'."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from api.problems import HttpProblem, problem_responses
from api.schemas.incidents import MAX_ID
from api.scope import CallerScope
from api.security import Caller, record_in, require
from gis.access import Scope
from gis.access.roles import Principal
from gis.field import actions
from gis.field.photos import (
    Limits,
    check_incident,
    clean,
    delete_photo,
    find_photo,
    store_photo,
)
from gis.settings import Settings

router = APIRouter(tags=["incidents"])
PhotoId = Annotated[int, Path(ge=1, le=MAX_ID, description="Photo id")]
IncidentId = Annotated[int, Path(ge=1, le=MAX_ID, description="Incident id")]
IMAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}
}


def _limits(settings: Settings) -> Limits:
    return Limits(
        max_bytes=settings.photo_max_bytes,
        max_pixels=settings.photo_max_pixels,
        keep_gps=settings.photo_keep_gps,
    )


@router.post(
    "/v1/incidents/{incident_id}/photos",
    status_code=201,
    responses=problem_responses(404, 413, 422, 503),
    summary="Add photos to an incident (JPEG, PNG, WebP, HEIC; EXIF GPS removed)",
)
async def add_photos(
    request: Request,
    caller: Caller,
    scope: CallerScope,
    incident_id: IncidentId,
    photo: Annotated[list[UploadFile], File(description="One or more photos.")],
    stage: Annotated[
        Literal["intake", "before", "after", "other"],
        Form(description="处置前 before, 处置后 after"),
    ] = "other",
    client_id: Annotated[
        str | None, Form(pattern=r"^[A-Za-z0-9_-]{8,64}$", description="Resend-safe id.")
    ] = None,
) -> Any:
    """Multipart form: ``photo`` (repeatable), ``stage``, ``client_id`` (the same id again
    answers the first answer, storing nothing twice). Needs incidents:update, or
    incidents:create (photos at intake); the incident must be in the key's scope."""
    if not (caller.can("incidents:update") or caller.can("incidents:create")):
        raise HttpProblem(403, f"the {caller.role} role may not add photos", field="role")
    settings: Settings = request.app.state.settings
    limits = _limits(settings)
    raws = [await f.read(limits.max_bytes + 1) for f in photo]
    cleaned = await run_in_threadpool(lambda: [clean(raw, limits) for raw in raws])
    return await run_in_threadpool(
        _store, request, caller, scope, incident_id, cleaned, stage, client_id, settings
    )


def _store(
    request: Request,
    caller: Principal,
    scope: Scope,
    incident_id: int,
    cleaned: list[Any],
    stage: str,
    client_id: str | None,
    settings: Settings,
) -> dict[str, Any]:
    media = settings.resolved_media_dir()
    with request.app.state.engine.begin() as conn:
        check_incident(conn, incident_id, scope)

        def do() -> dict[str, Any]:
            stored = [
                store_photo(conn, media, incident_id, c, stage=stage, key=actions.key_of(caller))
                for c in cleaned
            ]
            return {"incident_id": incident_id, "photos": stored}

        answer, done = actions.once(conn, caller, client_id, incident_id, "photos", do)
        if done:
            ids = [p["id"] for p in answer["photos"]]
            record_in(
                conn, request, caller, "incident.photo_add", f"incident/{incident_id}", photos=ids
            )
    return answer


def _readable(request: Request, scope: Scope, photo_id: int) -> Any:
    settings: Settings = request.app.state.settings
    with request.app.state.engine.connect() as conn:
        found = find_photo(conn, settings.resolved_media_dir(), photo_id)
        check_incident(conn, found.incident_id, scope)
    return found


_HEADERS = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}


@router.get(
    "/v1/photos/{photo_id}",
    response_class=FileResponse,
    responses=IMAGE | problem_responses(404, 422, 503),
    summary="A photo (only to keys that may read its incident)",
)
def photo_file(
    request: Request,
    caller: Annotated[Principal, require("incidents:read")],
    scope: CallerScope,
    photo_id: PhotoId,
) -> Any:
    found = _readable(request, scope, photo_id)
    return FileResponse(found.path, media_type=found.media_type, headers=_HEADERS)


@router.get(
    "/v1/photos/{photo_id}/thumb",
    response_class=FileResponse,
    responses=IMAGE | problem_responses(404, 422, 503),
    summary="A photo's thumbnail (320 px JPEG)",
)
def photo_thumb(
    request: Request,
    caller: Annotated[Principal, require("incidents:read")],
    scope: CallerScope,
    photo_id: PhotoId,
) -> Any:
    found = _readable(request, scope, photo_id)
    return FileResponse(found.thumb, media_type="image/jpeg", headers=_HEADERS)


@router.delete(
    "/v1/photos/{photo_id}",
    status_code=204,
    responses=problem_responses(404, 422, 503),
    summary="Delete a photo (audited; its record stays)",
)
def remove_photo(
    request: Request,
    caller: Annotated[Principal, require("incidents:update")],
    scope: CallerScope,
    photo_id: PhotoId,
) -> None:
    settings: Settings = request.app.state.settings
    with request.app.state.engine.begin() as conn:
        found = find_photo(conn, settings.resolved_media_dir(), photo_id)
        check_incident(conn, found.incident_id, scope)
        delete_photo(conn, photo_id)
        record_in(
            conn,
            request,
            caller,
            "incident.photo_delete",
            f"incident/{found.incident_id}",
            photo=photo_id,
        )
