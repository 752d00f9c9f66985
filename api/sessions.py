"""Browser sessions over HTTP: the cookie, the same-origin check and the anti-CSRF token.

- ``wangge_session`` (HttpOnly, SameSite=Lax) holds a random token; the session lives in
  PostgreSQL (:mod:`gis.security.sessions`), so sign-out ends it on every host.
- A request signed in by the cookie may read. To write (any method but GET/HEAD/OPTIONS) it
  must come from this site (``Origin``, else ``Sec-Fetch-Site``, must not name another
  origin) and carry the session's anti-CSRF token in ``X-CSRF-Token`` (pages read it from
  their ``<meta name="csrf-token">``). A key in ``X-API-Key`` needs neither: browsers never
  send it on their own.
- Signing in is protected against login CSRF the same way: ``GET /signin`` sets a short-lived
  ``wangge_signin`` cookie (SameSite=Strict) and puts the same value in the form; ``POST
  /signin`` needs both, equal, from this site.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request

from api.problems import HttpProblem
from gis.access.roles import Principal
from gis.security.sessions import Session, csrf_matches, find_session
from gis.store.db import database_errors

SESSION_COOKIE = "wangge_session"
SIGNIN_COOKIE = "wangge_signin"
CSRF_HEADER = "X-CSRF-Token"
#: the form field that carries the token where a form cannot send a header (sign-in/out)
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def own_origin(request: Request) -> str:
    """This site's origin as the browser sees it (scheme and Host of the request)."""
    return f"{request.url.scheme}://{request.url.netloc}".lower()


def same_origin(request: Request) -> bool:
    """Whether the request comes from a page of this site: its ``Origin`` is ours, or (no
    ``Origin``) ``Sec-Fetch-Site`` says same-origin or a typed address. A client that sends
    neither (not a browser) passes this check; the token check still applies."""
    origin = request.headers.get("origin")
    if origin is not None:
        if origin == "null":
            return False
        parts = urlsplit(origin)
        return f"{parts.scheme}://{parts.netloc}".lower() == own_origin(request)
    site = request.headers.get("sec-fetch-site")
    return site is None or site in ("same-origin", "none")


def refused(detail: str, field: str) -> HttpProblem:
    return HttpProblem(403, detail, field=field)


def session_principal(request: Request, token: str) -> Principal:
    """The principal of the session cookie ``token`` (runs in the thread pool: one query);
    a write must also pass the same-origin and anti-CSRF checks."""
    session = lookup(request, token)
    if request.method not in SAFE_METHODS:
        check_write(request, session)
    request.state.session = session
    return session.principal


def lookup(request: Request, token: str) -> Session:
    with database_errors(), request.app.state.engine.connect() as conn:
        session = find_session(conn, token)
    if session is None:
        raise HttpProblem(
            401,
            "your sign-in has ended or expired; sign in again at /signin",
            field="cookie",
            headers={"WWW-Authenticate": 'Bearer realm="wangge"'},
        )
    return session


def check_write(request: Request, session: Session) -> None:
    """403 unless a cookie-authenticated write is same-origin and carries the token."""
    if not same_origin(request):
        raise refused("a write from another site is refused (cross-origin)", "Origin")
    if not csrf_matches(session, request.headers.get(CSRF_HEADER)):
        raise refused(
            f"a write signed in by the cookie needs the page's anti-CSRF token in {CSRF_HEADER}",
            CSRF_HEADER,
        )


def new_signin_nonce() -> str:
    return secrets.token_urlsafe(32)


def signin_allowed(request: Request, sent: str | None) -> bool:
    """Whether a sign-in form post comes from our own form (login CSRF): same origin, and
    the form's nonce equals the ``wangge_signin`` cookie set with the form."""
    expected = request.cookies.get(SIGNIN_COOKIE)
    if not same_origin(request) or not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())
