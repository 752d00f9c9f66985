"""Access: the sign-in page for people in a browser, ``/v1/me`` and the audit log.

A person signs in once with their key; the answer sets an HttpOnly, SameSite cookie holding a
random session token (never the key; the session lives in PostgreSQL, see
:mod:`api.sessions`), so pages and their tiles load without keys in URLs.
"""

from __future__ import annotations

import html
import math
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Conn
from api.problems import HttpProblem, problem_responses
from api.responses import page_links
from api.schemas.access import AuditPage, Me
from api.schemas.common import MAX_OFFSET, IsoDateTime
from api.security import Caller, client_of, record_in, require
from api.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    new_signin_nonce,
    same_origin,
    signin_allowed,
)
from gis.access.roles import PERMISSIONS, PUBLIC_PERMISSIONS, Principal
from gis.dashboard.landing import landing_path
from gis.security.audit import MAX_AUDIT_PAGE, read_audit
from gis.security.keys import KeyVerifier
from gis.security.sessions import (
    SESSION_TTL,
    csrf_matches,
    end_session,
    find_session,
    start_session,
)

router = APIRouter(tags=["access"])
HTML_200: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}
#: the largest sign-in form accepted (a key is ~60 characters)
MAX_FORM_BYTES = 4096


def safe_next(target: str | None, default: str = "/maps/") -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def landing(principal: Principal) -> str:
    """Where a sign-in without ``next`` lands: one rule of the role alone
    (``gis.dashboard.landing``): officials on the dashboard, field workers on their work."""
    return landing_path(principal.role)


def signin_page(target: str, nonce: str, error: str | None = None) -> str:
    """The sign-in form (no scripts, local stylesheet only; fits a phone)."""
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    hours = int(SESSION_TTL.total_seconds() // 3600)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录 · wangge 网格</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/maps/static/wangge-field.css">
</head><body class="narrow">
<h1>网格 wangge</h1>
<form method="post" action="/signin">
<label for="key">密钥 API key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required
 placeholder="wg_…">
<input type="hidden" name="next" value="{html.escape(target, quote=True)}">
<input type="hidden" name="{CSRF_FIELD}" value="{html.escape(nonce, quote=True)}">
{message}
<button type="submit">登录 Sign in</button>
</form>
<p><small>请向管理员申请密钥（<code>wangge keys create</code>）。登录后本浏览器保持登录
{hours} 小时。Ask your administrator for a key; signing in keeps you in for {hours} hours on
this browser.</small></p>
</body></html>"""


def _form_page(target: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    """The sign-in form with a fresh nonce, in the page and in its SameSite=Strict cookie
    (:func:`api.sessions.signin_allowed` checks both)."""
    nonce = new_signin_nonce()
    answer = HTMLResponse(signin_page(target, nonce, error), status_code=status)
    answer.set_cookie(
        SIGNIN_COOKIE,
        nonce,
        max_age=3600,
        httponly=True,
        samesite="strict",
        path="/signin",
    )
    return answer


@router.get(
    "/signin",
    response_class=HTMLResponse,
    responses={**HTML_200, **problem_responses(422)},
    summary="Sign-in page (browsers); the form posts to /signin",
)
def signin_form(
    next_path: Annotated[
        str | None, Query(alias="next", max_length=2000, description="Where to go after.")
    ] = None,
) -> HTMLResponse:
    """A form asking for the API key; used by people opening the map pages."""
    return _form_page(safe_next(next_path, ""))


_PAGE = {"text/html": {"schema": {"type": "string"}}}


@router.post(
    "/signin",
    response_class=HTMLResponse,
    status_code=303,
    responses={
        303: {"description": "Signed in: the cookie is set; `Location` is `next`."},
        401: {"description": "The key is not valid: the form again, saying so.", "content": _PAGE},
        403: {
            "description": "Not posted from this site's own form (login CSRF): the form again.",
            "content": _PAGE,
        },
        413: {"description": "The form is too large.", "content": _PAGE},
        429: {"description": "Too many attempts; retry after `Retry-After`.", "content": _PAGE},
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "key": {"type": "string"},
                            "next": {"type": "string"},
                            CSRF_FIELD: {"type": "string"},
                        },
                        "required": ["key"],
                    }
                }
            }
        }
    },
    summary="Sign in with an API key (the form of /signin): starts a session, sets its cookie",
)
async def signin(request: Request) -> Response:
    """Form fields ``key``, ``next`` and the form's ``csrf_token``; success redirects (303)
    with the session cookie set. A post that is not from this site's form (another origin,
    or no matching nonce) is refused with the form again (403)."""
    raw = b""
    async for chunk in request.stream():  # never more than the form can hold
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            return _form_page("", "表单过大 the form is too large", 413)
    form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    target = safe_next(form.get("next"), "")
    if not signin_allowed(request, form.get(CSRF_FIELD)):
        return _form_page(target, "请从本站登录页登录 sign in from this site's own form", 403)
    failed = request.app.state.failed_keys
    wait = failed.wait(client_of(request))
    if wait > 0:
        busy = _form_page(target, "尝试次数过多，请稍候 too many attempts; wait a moment", 429)
        busy.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return busy
    verifier: KeyVerifier = request.app.state.keys
    principal = await run_in_threadpool(verifier.verify, form.get("key", "").strip())
    if principal is None or principal.key_id is None:
        failed.take(client_of(request))
        return _form_page(target, "密钥无效或已撤销 this key is not valid, or it was revoked", 401)
    token = await run_in_threadpool(_start, request, principal)
    answer = RedirectResponse(target or landing(principal), status_code=303)
    answer.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    answer.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return answer


def _start(request: Request, principal: Principal) -> str:
    with request.app.state.engine.begin() as conn:
        token, _ = start_session(conn, principal.key_id or "", client=client_of(request))
        record_in(conn, request, principal, "session.start")
    return token


@router.post("/signout", include_in_schema=False)
async def signout(request: Request) -> Response:
    """End the session (in the database: a copied cookie stops working everywhere), clear
    the cookie and go back to the sign-in page. Only from this site (a form with the
    session's token in ``csrf_token``, or a script sending ``X-CSRF-Token``)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        raw = (await request.body())[:MAX_FORM_BYTES]
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
        await run_in_threadpool(_end, request, token, sent)
    answer = RedirectResponse("/signin", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return answer


def _end(request: Request, token: str, sent: str | None) -> None:
    with request.app.state.engine.begin() as conn:
        session = find_session(conn, token)
        if session is None:
            return  # ended already: clearing the cookie is all that is left
        if not same_origin(request) or not csrf_matches(session, sent):
            raise HttpProblem(403, "sign out from this site's own page", field=CSRF_FIELD)
        end_session(conn, token)
        record_in(conn, request, session.principal, "session.end")


@router.get(
    "/v1/me",
    response_model=Me,
    responses=problem_responses(401, 429, 503),
    summary="The key this request was made with: role, scope, permissions",
)
def me(caller: Caller) -> Me:
    """Check a key: what it is called, its role and scope, and what it may do."""
    granted = PUBLIC_PERMISSIONS if caller.role == "anonymous" else PERMISSIONS[caller.role]
    return Me(
        key_id=caller.key_id,
        name=caller.name,
        role=caller.role,
        scope=caller.scope,
        permissions=sorted(granted),
    )


@router.get(
    "/v1/audit",
    response_model=AuditPage,
    responses=problem_responses(422, 503),
    summary="The audit log (admins): every write and every unmasked read, newest first",
)
def audit_log(
    request: Request,
    caller: Annotated[Principal, require("audit")],
    conn: Conn,
    since: Annotated[
        IsoDateTime | None, Query(description="Only entries at or after this time (ISO 8601).")
    ] = None,
    action: Annotated[
        str | None,
        Query(max_length=100, description="e.g. incident.transition, read_unmasked"),
    ] = None,
    key_id: Annotated[str | None, Query(max_length=20, description="Only this key's.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Any:
    """Who (key id, name, role), what (action, target, detail), when, and from where."""
    entries, total = read_audit(
        conn, since=since, action=action, key_id=key_id, limit=limit, offset=offset
    )
    links = page_links(request, offset=offset, limit=limit, returned=len(entries), matched=total)
    return {
        "numberMatched": total,
        "numberReturned": len(entries),
        "links": links,
        "entries": entries,
    }
