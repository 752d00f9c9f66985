"""Who is calling, and may they: API keys, roles, the sign-in cookie and per-key rate limits.

A caller proves who they are with an API key in ``X-API-Key`` (or ``Authorization: Bearer``),
or, in a browser, with the session cookie ``/signin`` sets (writes also need the page's
anti-CSRF token and a same-origin request: :mod:`api.sessions`). Each route declares the
permission it needs with ``require("incidents:read")`` (:mod:`gis.access.roles` says which
role grants what); the OpenAPI document shows it as the route's security requirement.

- no key, or a key that is unknown or revoked: 401 problem+json (a browser asking for a page
  is sent to the sign-in page instead);
- a role without the permission: 403 naming the role;
- an object outside the key's scope: 404, as if it did not exist (``gis`` puts the caller's
  :class:`~gis.access.Scope`, built by :mod:`api.scope`, in the query that looks it up);
- over the rate limit: 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection

from api.problems import HttpProblem, problem_responses
from api.sessions import SESSION_COOKIE, session_principal
from gis.access.roles import ANONYMOUS, Principal, mask_phone
from gis.security import audit
from gis.security.keys import KeyVerifier
from gis.settings import Settings

#: wrong keys one client address may send, per second, after its burst (a setting)
FAILED_KEYS_PER_SECOND = 1.0
#: how much of an Open311 form is searched for ``api_key``
MAX_FORM_KEY_BYTES = 1 << 20

_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key (`wangge keys create`)."
)
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="Set by signing in at /signin (writes also need the X-CSRF-Token header).",
)

#: What each permission lets a caller do, for the 403 message.
_DOING = {
    "areas:read": "read areas",
    "assign": "assign points",
    "geocode": "geocode addresses",
    "incidents:read": "read incidents",
    "incidents:create": "report incidents",
    "incidents:update": "update incidents",
    "stats": "read statistics",
    "coverage": "run coverage checks",
    "maps": "open maps",
    "audit": "read the audit log",
    "events": "follow events",
    "patrols": "record or read patrols",
}


def unauthenticated(detail: str, field: str = "X-API-Key") -> HttpProblem:
    return HttpProblem(
        401, detail, field=field, headers={"WWW-Authenticate": 'Bearer realm="wangge"'}
    )


class RateLimiter:
    """A token bucket per caller, in this worker: ``rate`` per second sustained, ``burst`` at
    once. ``take`` answers the seconds to wait (0: go ahead)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _tokens(self, who: str, now: float) -> float:
        tokens, at = self._buckets.get(who, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate)

    def wait(self, who: str) -> float:
        """The seconds until ``who`` may go again, without taking anything (0: now)."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            tokens = self._tokens(who, time.monotonic())
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def take(self, who: str) -> float:
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens = self._tokens(who, now)
            if tokens < 1:
                self._buckets[who] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[who] = (tokens - 1, now)
            if len(self._buckets) > 100_000:  # forget idle callers rather than grow forever
                self._buckets.clear()
            return 0.0


def install(app: Any, settings: Settings) -> None:
    """The per-worker pieces: the rate limiter (the key verifier needs the engine, so the
    lifespan sets ``app.state.keys``)."""
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    # wrong keys cost a scrypt each: an address that keeps sending them is stopped before that
    app.state.failed_keys = RateLimiter(FAILED_KEYS_PER_SECOND, settings.failed_key_burst)


def _verifier(request: Request) -> KeyVerifier:
    verifier: KeyVerifier = request.app.state.keys
    return verifier


async def authenticate(
    request: Request,
    api_key: Annotated[str | None, Depends(_api_key)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    session: Annotated[str | None, Depends(_cookie)] = None,
) -> Principal:
    """The caller of this request (once per request), rate-limited.

    A key this worker has verified is recognised in the event loop (a hash lookup, no
    database); whatever may touch the database or hash a secret (a new key, the periodic
    check for revocations, the last-used time, a sign-in cookie) runs in the thread pool, so
    it never holds up other requests. An async dependency costs no thread hand-off."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    settings: Settings = request.app.state.settings
    token = api_key or (bearer.credentials if bearer else None)
    principal: Principal | None
    if token:
        token = token.strip()
        principal = _verifier(request).cached(token)
        if principal is None:
            principal = await run_in_threadpool(verify_or_count, request, token)
        if principal is None:
            raise unauthenticated("the API key is not valid, or it was revoked")
    elif session:
        principal = await run_in_threadpool(session_principal, request, session)
    elif settings.public_access:
        principal = ANONYMOUS
    else:
        raise unauthenticated(
            "an API key is needed: send it in the X-API-Key header (or Authorization: Bearer); "
            "in a browser, sign in at /signin"
        )
    who = principal.key_id or f"client {request.client.host if request.client else '?'}"
    wait = request.app.state.rate_limiter.take(who)
    if wait > 0:
        raise HttpProblem(
            429,
            f"over the rate limit of {settings.rate_limit_per_second:g} requests per second "
            f"for this key (WANGGE_RATE_LIMIT_PER_SECOND)",
            field="rate_limit",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(authenticate)]


def verify_or_count(request: Request, token: str) -> Principal | None:
    """The key's principal; a wrong key counts against the caller's address, and an address
    over ``WANGGE_FAILED_KEY_BURST`` wrong keys is refused (429) before more are checked."""
    verifier = _verifier(request)
    known = verifier.remembered(token)
    if known is not None:  # a good key is never held up by others' wrong ones
        return known
    failed: RateLimiter = request.app.state.failed_keys
    address = client_of(request)
    wait = failed.wait(address)
    if wait > 0:
        raise HttpProblem(
            429,
            "too many wrong API keys from this address; wait before trying again",
            field="X-API-Key",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    principal = verifier.verify(token)
    if principal is None:
        failed.take(address)
    return principal


def permit(caller: Principal, permission: str | None) -> Principal:
    """``caller`` if they hold ``permission`` (None: any key); 401 for an anonymous caller,
    else 403 naming the role."""
    if permission is None or caller.can(permission):
        if permission is None and caller.role == "anonymous":
            raise unauthenticated("an API key is needed for this request")
        return caller
    if caller.role == "anonymous":
        raise unauthenticated(f"an API key is needed to {_DOING.get(permission, permission)}")
    raise HttpProblem(
        403, f"the {caller.role} role may not {_DOING.get(permission, permission)}", field="role"
    )


def require(permission: str | None) -> Any:
    """A dependency: the caller, who must hold ``permission`` (None: any key will do)."""

    async def check(caller: Caller) -> Principal:  # async: no thread hand-off for a check
        return permit(caller, permission)

    return Depends(check)


async def open311_reporter(
    request: Request,
    api_key: Annotated[str | None, Depends(_api_key)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    session: Annotated[str | None, Depends(_cookie)] = None,
) -> Principal:
    """The caller of an Open311 POST: GeoReport v2 clients send the key as the ``api_key``
    form field; the header works too."""
    if not api_key and bearer is None:
        form = parse_qs((await request.body())[:MAX_FORM_KEY_BYTES].decode("utf-8", "replace"))
        keys = form.get("api_key")
        api_key = keys[0] if keys else None
    return permit(await authenticate(request, api_key, bearer, session), "incidents:create")


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def record(
    request: Request, caller: Principal, action: str, target: str = "", **detail: Any
) -> None:
    """One audit entry for this request: who, what, when, from where."""
    audit.record(
        request.app.state.engine,
        caller,
        action=action,
        target=target,
        client=client_of(request),
        detail={k: v for k, v in detail.items() if v is not None} or None,
    )


def audit_entry(request: Request, caller: Principal, action: str) -> audit.Entry:
    """An audit entry for this request that the gis function writes in its own transaction
    (saves the second commit :func:`record` costs)."""
    return audit.Entry(caller, action, client_of(request))


def record_in(
    conn: Connection,
    request: Request,
    caller: Principal,
    action: str,
    target: str = "",
    **detail: Any,
) -> None:
    """One audit entry inside the write's own transaction: no write without its entry."""
    audit.record_in(
        conn,
        caller,
        action=action,
        target=target,
        client=client_of(request),
        detail={k: v for k, v in detail.items() if v is not None} or None,
    )


def reveal_phones(request: Request, caller: Principal, target: str) -> bool:
    """Whether ``caller`` sees residents' phone numbers unmasked; each such read is audited."""
    if not caller.sees_phones:
        return False
    record(request, caller, "read_unmasked", target)
    return True


def mask_staff(answer: Any) -> Any:
    """Staff phone numbers masked anywhere in an answer (for anonymous callers)."""
    if isinstance(answer, dict):
        return {
            k: mask_phone(v) if k == "phone" and isinstance(v, str) else mask_staff(v)
            for k, v in answer.items()
        }
    if isinstance(answer, list):
        return [mask_staff(v) for v in answer]
    return answer


def document(app: Any) -> None:
    """Wrap ``app.openapi``: every operation with a security requirement also documents its
    401, 403 and 429 problems (the dependency, not the route, answers those), and every
    operation with a body its 413 (the body-size limit, answered before the route)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        doc: dict[str, Any] = build()
        if not fresh:
            return doc
        extra = problem_responses(401, 403, 429)
        too_large = problem_responses(413)[413]
        for methods in doc.get("paths", {}).values():
            for operation in methods.values():
                if not isinstance(operation, dict):
                    continue
                responses = operation.setdefault("responses", {})
                if operation.get("security"):
                    for status, entry in extra.items():
                        responses.setdefault(str(status), _as_openapi(entry))
                if operation.get("requestBody"):  # the body-size limit applies to every body
                    responses.setdefault("413", _as_openapi(too_large))
        return doc

    app.openapi = openapi


def _as_openapi(entry: dict[str, Any]) -> dict[str, Any]:
    """A ``problem_responses`` entry as an OpenAPI response object."""
    return {k: v for k, v in entry.items() if k != "model"}
