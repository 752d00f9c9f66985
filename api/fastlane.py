"""``GET /v1/assign``'s fast lane (issue 28): the common request answered without FastAPI's
routing and dependency machinery, which cost several times the lookup itself.

The lane is ASGI middleware, inside every other middleware (body and header limits, NUL
bytes), so those checks still run first. It answers a request only when every check the
route would make is certain to pass, using the very same pieces the route uses:

* the key, sent in ``X-API-Key``, is one this worker has verified and that needs no database
  to confirm (:meth:`~gis.security.keys.KeyVerifier.cached`: keys were checked for
  revocations within ``index_check_seconds``);
* the key's role may assign (:func:`api.security.permit`);
* the query holds only ``lon``, ``lat``, ``crs``, ``level``, ``max_distance_m`` and
  ``generation``, each once, each a value the route's validation accepts unchanged (finite
  decimal numbers, a level name, a generation 1..2³¹-1, a distance in range, one of the
  named CRSs);
* the answer needs no database (:meth:`~gis.assign.service.Assigner.answers_from_memory`)
  and :func:`~gis.assign.service.assign_point` raises nothing;
* the per-key rate limit has a token (taken last, so a request the lane passes on is never
  charged twice).

Anything else (no key, a cookie, a Bearer token, an unknown or revoked key, a parameter out
of range, ``accuracy_m``, ``as_of``, a poll due, any error, the rate limit reached) goes to
the FastAPI route, which answers it, errors included, exactly as before. So the lane weakens
no check: it only skips work for requests whose answer is already certain, and its answers
are the route's, byte for byte (``tests/api/test_fastlane.py`` compares them).
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI

from api.limits import ASGIApp, Receive, Send
from api.limits import Scope as AsgiScope
from api.problems import HttpProblem
from api.routers.assign import FastJSONResponse
from api.scope import scope_of
from api.security import permit
from gis.assign.service import MAX_DISTANCE_M, Assigner, assign_point
from gis.errors import WanggeError
from gis.levels import LEVELS
from gis.security.keys import KeyVerifier

PATH = "/v1/assign"
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?")
_GENERATION = re.compile(r"[1-9]\d{0,9}")
_MAX_GENERATION = 2_147_483_647
_CRS = frozenset({"wgs84", "gcj02", "bd09"})
_LEVELS = frozenset(LEVELS)
_ALLOWED = frozenset({"lon", "lat", "crs", "level", "max_distance_m", "generation"})
#: requests this process answered in the lane (for tests and diagnostics)
answered = 0


def _number(text: str) -> float | None:
    """A finite float the route would read the same way, or None (then the route decides)."""
    if _NUMBER.fullmatch(text) is None:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_query(raw: bytes) -> dict[str, Any] | None:
    """The keyword arguments of :func:`assign_point` for a plain query, or None."""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    if len(pairs) > len(_ALLOWED):
        return None
    found: dict[str, str] = {}
    for name, value in pairs:
        if name not in _ALLOWED or name in found:
            return None
        found[name] = value
    lon = _number(found.get("lon", ""))
    lat = _number(found.get("lat", ""))
    if lon is None or lat is None:
        return None
    args: dict[str, Any] = {"lon": lon, "lat": lat, "crs": found.get("crs", "wgs84")}
    if args["crs"] not in _CRS:
        return None
    if "level" in found:
        if found["level"] not in _LEVELS:
            return None
        args["level"] = found["level"]
    if "max_distance_m" in found:
        distance = _number(found["max_distance_m"])
        if distance is None or not 0 <= distance <= MAX_DISTANCE_M:
            return None
        args["max_distance_m"] = distance
    if "generation" in found:
        if _GENERATION.fullmatch(found["generation"]) is None:
            return None
        generation = int(found["generation"])
        if generation > _MAX_GENERATION:
            return None
        args["generation"] = generation
    return args


def _api_key(scope: AsgiScope) -> str | None:
    """The first ``X-API-Key`` header, if the request has no other credentials."""
    key: str | None = None
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            if key is None:
                key = value.decode("latin-1")
        elif name in (b"authorization", b"cookie"):
            return None  # other credentials: the route sorts out which one counts
    return key


class AssignFastLane:
    """ASGI middleware: answers plain ``GET /v1/assign`` requests; passes on the rest."""

    def __init__(self, app: ASGIApp, *, api: FastAPI) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "GET":
            answer = self.answer(scope)
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def answer(self, scope: AsgiScope) -> FastJSONResponse | None:
        """The route's answer, when it is certain without the route; else None."""
        state = self.api.state
        token = _api_key(scope)
        if not token:
            return None
        args = parse_query(scope.get("query_string", b""))
        if args is None:
            return None
        keys: KeyVerifier | None = getattr(state, "keys", None)
        assigner: Assigner | None = getattr(state, "assigner", None)
        if keys is None or assigner is None:
            return None
        principal = keys.cached(token.strip())
        if principal is None or principal.role == "anonymous":
            return None
        try:
            permit(principal, "assign")
        except HttpProblem:
            return None
        if not assigner.answers_from_memory(
            generation=args.get("generation"), level=args.get("level")
        ):
            return None
        try:
            result = assign_point(assigner, scope=scope_of(principal), **args)
        except WanggeError:
            return None
        who = principal.key_id or ""
        if state.rate_limiter.take(who) > 0:
            return None  # the route answers 429 (and charges nothing more)
        scope.setdefault("state", {})["principal"] = principal
        global answered
        answered += 1
        result["input"] = {"lon": args["lon"], "lat": args["lat"], "crs": args["crs"]}
        return FastJSONResponse(result)


def install(app: FastAPI) -> None:
    """Add the lane; call before any other ``add_middleware`` so it is the innermost."""
    app.add_middleware(AssignFastLane, api=app)
