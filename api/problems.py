"""RFC 9457 problem details: every error leaves the API as ``application/problem+json``.

This module alone decides the HTTP status of a domain error (``gis.errors``): the domain says
what went wrong, the API says how to answer. Routers declare the problems they can answer with
``problem_responses(...)`` so the OpenAPI document is the whole contract.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gis.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Unavailable,
    WanggeError,
)
from gis.store.db import UNREACHABLE, is_bad_value, is_connection_error, is_timeout

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5

# Most specific class first: the first isinstance match decides.
_STATUS: tuple[tuple[type[WanggeError], int, str], ...] = (
    (InvalidInput, 422, "Invalid input"),
    (NotFound, 404, "Not found"),
    (Conflict, 409, "Conflict"),
    (PayloadTooLarge, 413, "Payload too large"),
    (Unavailable, 503, "Service unavailable"),
)

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    503: "Service unavailable",
}


class HttpProblem(Exception):
    """An answer decided by the API layer itself (authentication, roles, rate limits), not by
    the domain: its status, the ``field`` at fault, and headers such as ``Retry-After``."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.headers = headers


class FieldError(BaseModel):
    """One bad field of a request."""

    field: str = Field(description="Dotted name of the parameter or body field.")
    reason: str


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, and which ``field`` caused it."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "type": "about:blank",
                "title": "Invalid input",
                "status": 422,
                "detail": "level: unknown level 'bogus'",
                "field": "level",
                "instance": "/v1/areas",
            }
        },
    )

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = Field(default=None, description="The offending parameter or field.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[FieldError] | None = Field(
        default=None, description="Every bad field, for request validation errors."
    )


_DESCRIPTIONS = {
    401: "No or unknown API key.",
    404: "The named thing does not exist (or is outside the key's scope).",
    405: "Method not allowed; the `Allow` header lists the allowed ones.",
    409: "The request clashes with the current state.",
    413: "The body or batch is over a configured limit (named in `limit`).",
    422: "A parameter or body field is invalid; `field` names it.",
    429: "Rate limit reached; retry after `Retry-After` seconds.",
    503: "The database is unreachable; retry after `Retry-After` seconds.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the problem statuses a route can answer with."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, _TITLES.get(status, "Error")),
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **(
                {"headers": {"Retry-After": {"schema": {"type": "integer"}}}}
                if status in (429, 503)
                else {}
            ),
        }
        for status in statuses
    }


#: Paths whose errors are Open311 error lists (``[{code, description}]``), not problem+json.
OPEN311_PREFIX = "/open311/"


def status_of(exc: WanggeError) -> tuple[int, str]:
    """The HTTP status and title for a domain error."""
    for cls, status, title in _STATUS:
        if isinstance(exc, cls):
            return status, title
    return 400, "Bad request"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response; under ``/open311/`` the Open311 error list instead (its
    clients parse nothing else), with the same status and headers."""
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), **(headers or {})}
    if instance is not None and instance.startswith(OPEN311_PREFIX):
        described = f"{field}: {detail}" if field and not detail.startswith(field) else detail
        return JSONResponse(
            [{"code": status, "description": described}], status_code=status, headers=headers
        )
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if field is not None:
        body["field"] = field
    if instance is not None:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "path", "body", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    """Map domain errors, request validation errors and HTTP errors to problem+json."""

    @app.exception_handler(WanggeError)
    async def domain_error(request: Request, exc: WanggeError) -> JSONResponse:
        status, title = status_of(exc)
        return problem(
            status,
            title,
            exc.reason,
            field=exc.field,
            instance=request.url.path,
            **exc.extra,
        )

    @app.exception_handler(HttpProblem)
    async def http_problem(request: Request, exc: HttpProblem) -> Response:
        if exc.status == 401 and _browser_page(request):
            # a person opening a map page: the sign-in page, then back here
            target = quote(
                request.url.path + ("?" + request.url.query if request.url.query else "")
            )
            return RedirectResponse(f"/signin?next={target}", status_code=303)
        return problem(
            exc.status,
            _TITLES.get(exc.status, "Error"),
            exc.detail,
            field=exc.field,
            instance=request.url.path,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_name(tuple(e["loc"])), "reason": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": "request", "reason": "invalid request"}
        return problem(
            422,
            "Invalid input",
            f"{first['field']}: {first['reason']}",
            field=first["field"],
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        # the database went away in the middle of a request: 503, and nothing of the driver's
        # message (host, port, SQL) leaks out
        if is_connection_error(exc):
            return problem(
                503, "Service unavailable", UNREACHABLE, field="database", instance=request.url.path
            )
        if is_timeout(exc):
            # statement_timeout: a heavy request and a loaded database look the same from
            # here, so the answer is the retryable one; the detail says how to lighten it
            return problem(
                503,
                "Service unavailable",
                "the query ran longer than the statement timeout (WANGGE_STATEMENT_TIMEOUT_S); "
                "retry later or narrow the request",
                field="database",
                instance=request.url.path,
            )
        if is_bad_value(exc):
            # a value the database cannot hold (a NUL byte in text, a number out of range)
            # that no validation caught: the request's fault, and no driver text leaks
            return problem(
                422,
                "Invalid input",
                "a value of the request cannot be stored or compared (NUL byte, number out "
                "of range or malformed text)",
                field="request",
                instance=request.url.path,
            )
        return _internal_error(request)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        return _internal_error(request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            # a body FastAPI could not decode (not UTF-8, not JSON): bad input like any other
            return problem(
                422,
                "Invalid input",
                "the body is not valid JSON (UTF-8)",
                field="body",
                instance=request.url.path,
            )
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            allow = allowed_methods(request, headers.pop("Allow", None))
            if allow:
                headers["Allow"] = allow
        return problem(
            exc.status_code,
            _TITLES.get(exc.status_code, "Error"),
            str(exc.detail),
            instance=request.url.path,
            headers=headers or None,
        )


def allowed_methods(request: Request, starlettes: str | None) -> str | None:
    """The ``Allow`` header of a 405: every method the OpenAPI document lists for the path
    (Starlette names only the first route's, and GET and POST of one path are often two
    routes); Starlette's own for a path the document does not list."""
    table = getattr(request.app.state, "route_table", None)
    documented = table.methods_at(request.scope["path"]) if table is not None else []
    return ", ".join(documented) if documented else starlettes


def _browser_page(request: Request) -> bool:
    """A browser navigating to a page (it asks for HTML first), not a script or a client."""
    return request.method == "GET" and request.headers.get("accept", "").startswith("text/html")


def _internal_error(request: Request) -> JSONResponse:
    """A bug: 500 problem+json with no internals (the traceback goes to the server log)."""
    return problem(
        500,
        "Internal server error",
        "the server failed to answer this request; it has been logged",
        instance=request.url.path,
    )
