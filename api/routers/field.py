"""Field work in the browser (issue 24): the session's token for the page's writes, the
"my work" page, the incident page and the service worker that keeps them offline."""

from __future__ import annotations

import gzip
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.deps import Conn
from api.problems import HttpProblem, problem_responses
from api.schemas.incidents import MAX_ID
from api.scope import CallerScope
from api.security import Caller, require
from gis.access import Scope
from gis.access.roles import Principal
from gis.field.incident_view import incident_view
from gis.field.render import outline, render
from gis.field.work import my_work
from gis.maps.page import STATIC_DIR
from gis.security.sessions import Session
from gis.settings import Settings

router = APIRouter(tags=["field"])


@router.get(
    "/v1/session",
    responses=problem_responses(401, 404, 503),
    summary="This browser session: who, until when, and its anti-CSRF token for writes",
)
def session_info(request: Request, caller: Caller, scope: CallerScope) -> dict[str, Any]:
    """For pages and their service worker: the token to send in ``X-CSRF-Token`` with
    every write. 404 when the request is not signed in by the session cookie (a key in a
    header needs no token)."""
    session: Session | None = getattr(request.state, "session", None)
    if session is None:
        raise HttpProblem(404, "this request is not signed in by a browser session", field="cookie")
    return {
        "key_id": caller.key_id,
        "name": caller.name,
        "role": caller.role,
        "scope": scope.area,
        "expires_at": session.expires_at.isoformat(),
        "csrf_token": session.csrf_token,
    }


HTML: dict[int | str, dict[str, Any]] = {
    200: {"description": "An HTML page for a phone.", "content": {"text/html": {}}}
}
STAGE_NAMES = {"intake": "上报时", "before": "处置前", "after": "处置后", "other": ""}
Reader = Annotated[Principal, require("incidents:read")]
StatusFilter = Literal[
    "", "reported", "assigned", "in_progress", "returned", "reopened", "suspended", "extended"
]


def _csrf(request: Request) -> str:
    """The anti-CSRF token of the request's session ("" for a key in a header)."""
    session: Session | None = getattr(request.state, "session", None)
    return session.csrf_token if session else ""


def _page(request: Request, html: str) -> Response:
    """A page, gzip-compressed when the browser takes it (lists are long and repetitive);
    never cached by the browser's HTTP cache (the service worker keeps the offline copy)."""
    headers = {"Cache-Control": "no-cache", "Vary": "Accept-Encoding, Cookie"}
    data = html.encode()
    if "gzip" in request.headers.get("accept-encoding", "") and len(data) > 1024:
        headers["Content-Encoding"] = "gzip"
        data = gzip.compress(data, compresslevel=6)
    return Response(data, media_type="text/html; charset=utf-8", headers=headers)


def _links(caller: Principal, scope: Scope) -> list[tuple[str, str]]:
    """The pages the caller's role may open (no link to a page that would refuse her)."""
    links: list[tuple[str, str]] = []
    if caller.can("maps") and scope.area is not None:
        links.append((f"/maps/grid/{scope.area}", "网格地图"))
    if caller.can("maps"):
        links.append(("/maps/overview", "总览"))
    return links


@router.get(
    "/maps/work",
    response_class=HTMLResponse,
    responses=HTML | problem_responses(422, 503),
    summary="My work: the signed-in person's open incidents, soonest due first (phone page)",
)
def my_work_page(
    request: Request,
    caller: Reader,
    scope: CallerScope,
    conn: Conn,
    status: Annotated[StatusFilter, Query(description="Only this state")] = "",
    category: Annotated[str, Query(max_length=100, pattern=r"^[A-Za-z0-9_.-]*$")] = "",
    overdue: Annotated[bool, Query(description="Only overdue ones")] = False,
) -> Response:
    """Her grid's name, counts (open, overdue, due today), a map that clusters stacked
    points and the list (category and state in Chinese, time left, address, duplicates
    folded under their original); the filters work without a reload."""
    settings: Settings = request.app.state.settings
    work = my_work(conn, scope=scope, timezone=settings.incident_timezone)
    html = render(
        "work.html",
        work=work,
        csrf=_csrf(request),
        links=_links(caller, scope),
        outline=outline(conn, scope.area),
        chosen={"status": status, "category": category, "overdue": overdue},
    )
    return _page(request, html)


@router.get(
    "/maps/incident/{incident_id}",
    response_class=HTMLResponse,
    responses=HTML | problem_responses(404, 422, 503),
    summary="One incident for a phone: facts, photos, map, timeline and the steps she may take",
)
def incident_page(
    request: Request,
    caller: Reader,
    scope: CallerScope,
    incident_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    conn: Conn,
) -> Response:
    """Everything about the incident in Chinese and local time, also without a location;
    buttons for exactly the steps the caller's role may take from its state."""
    settings: Settings = request.app.state.settings
    view = incident_view(conn, caller, scope, incident_id, timezone=settings.incident_timezone)
    html = render(
        "incident.html",
        v=view,
        csrf=_csrf(request),
        links=[],
        work_link=True,
        stages=STAGE_NAMES,
        outline=outline(conn, scope.area),
    )
    return _page(request, html)


@router.get("/maps/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The service worker, served from /maps/ so it may keep every page under /maps/."""
    return FileResponse(
        STATIC_DIR / "wangge-field-sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/maps/"},
    )
