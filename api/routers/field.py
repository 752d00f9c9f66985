"""Field work in the browser (issue 24): the session's token for the page's writes, the
"my work" page, the incident page and the service worker that keeps them offline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.problems import HttpProblem, problem_responses
from api.security import Caller
from gis.security.sessions import Session

router = APIRouter(tags=["field"])


@router.get(
    "/v1/session",
    responses=problem_responses(401, 404, 503),
    summary="This browser session: who, until when, and its anti-CSRF token for writes",
)
def session_info(request: Request, caller: Caller) -> dict[str, Any]:
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
        "scope": caller.scope,
        "expires_at": session.expires_at.isoformat(),
        "csrf_token": session.csrf_token,
    }
