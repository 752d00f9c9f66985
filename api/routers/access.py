"""Access: the sign-in page for people in a browser, ``/v1/me`` and the audit log.

A person signs in once with their key; the answer sets an HttpOnly, SameSite cookie holding a
signed session (never the key itself), so map pages and their tiles load without keys in URLs.
"""

from __future__ import annotations

import html
import math
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Conn
from api.problems import problem, problem_responses
from api.responses import page_links
from api.schemas.access import AuditPage, Me
from api.schemas.common import MAX_OFFSET, IsoDateTime
from api.security import SESSION_COOKIE, Caller, client_of, require
from gis.security.audit import MAX_AUDIT_PAGE, read_audit
from gis.security.keys import SESSION_TTL, KeyVerifier
from gis.security.roles import PERMISSIONS, PUBLIC_PERMISSIONS, Principal

router = APIRouter(tags=["access"])
HTML_200: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}
#: the largest sign-in form accepted (a key is ~60 characters)
MAX_FORM_BYTES = 4096


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/maps/"
    return target


def signin_page(target: str, error: str | None = None) -> str:
    """The sign-in form (no scripts, no external assets; fits a phone)."""
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wangge · 登录 sign in</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}}
input,button{{font-size:1rem;width:100%;box-sizing:border-box;padding:.6rem;margin:.3rem 0}}
.error{{color:#b00020}} small{{color:#555}}
</style></head><body>
<h1>wangge 网格</h1>
<form method="post" action="/signin">
<label for="key">API key 密钥</label>
<input id="key" name="key" type="password" autocomplete="current-password" required
 placeholder="wg_…">
<input type="hidden" name="next" value="{html.escape(target, quote=True)}">
{message}
<button type="submit">Sign in 登录</button>
</form>
<p><small>Ask your administrator for a key (<code>wangge keys create</code>). Signing in
keeps you in for {int(SESSION_TTL.total_seconds() // 3600)} hours on this browser.</small></p>
</body></html>"""


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
    return HTMLResponse(signin_page(safe_next(next_path)))


_PAGE = {"text/html": {"schema": {"type": "string"}}}


@router.post(
    "/signin",
    response_class=HTMLResponse,
    status_code=303,
    responses={
        303: {"description": "Signed in: the cookie is set; `Location` is `next`."},
        401: {"description": "The key is not valid: the form again, saying so.", "content": _PAGE},
        413: {"description": "The form is too large.", "content": _PAGE},
        429: {"description": "Too many attempts; retry after `Retry-After`.", "content": _PAGE},
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {"key": {"type": "string"}, "next": {"type": "string"}},
                        "required": ["key"],
                    }
                }
            }
        }
    },
    summary="Sign in with an API key (the form of /signin): sets the session cookie",
)
async def signin(request: Request) -> Response:
    """Form fields ``key`` and ``next``; success redirects (303) with the cookie set."""
    raw = b""
    async for chunk in request.stream():  # never more than the form can hold
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            return HTMLResponse(signin_page("/maps/", "the form is too large"), status_code=413)
    form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    target = safe_next(form.get("next"))
    failed = request.app.state.failed_keys
    wait = failed.wait(client_of(request))
    if wait > 0:
        return HTMLResponse(
            signin_page(target, "too many attempts; wait a moment"),
            status_code=429,
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    verifier: KeyVerifier = request.app.state.keys
    session = verifier.start_session(form.get("key", "").strip())
    if session is None:
        failed.take(client_of(request))
        page = signin_page(target, "this key is not valid, or it was revoked")
        return HTMLResponse(page, status_code=401)
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return answer


@router.api_route("/signin", methods=["PUT", "PATCH", "DELETE", "OPTIONS"], include_in_schema=False)
def signin_other_methods() -> Any:
    """GET and POST live on two routes; answer every other method with both in ``Allow``."""
    return problem(405, "Method not allowed", "use GET or POST", headers={"Allow": "GET, POST"})


@router.post("/signout", include_in_schema=False)
def signout() -> Response:
    """Clear the session cookie and go back to the sign-in page."""
    answer = RedirectResponse("/signin", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return answer


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
