"""Request limits at the edge (issue 16): body size for every route, NUL bytes in the URL,
and the configured page size shown in the OpenAPI document.

The size check is ASGI middleware, so it holds for routes whose body FastAPI parses as well
as for those reading it themselves; an over-long body is refused before it is buffered whole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse

from api.problems import problem
from gis.limits import PAGE_SIZE_CEILING, setting_name
from gis.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PageLimit = Annotated[
    int,
    Query(
        ge=1,
        le=PAGE_SIZE_CEILING,
        description="Page size, 1 to the configured maximum (WANGGE_MAX_PAGE_SIZE, default "
        "1000; the document shows this server's).",
    ),
]


class RequestLimits:
    """ASGI middleware: 413 problem+json for a body over ``max_body_bytes`` (declared or
    streamed), 422 naming the parameter for a NUL byte in the path or query string."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bad = _nul_parameter(scope)
        if bad is not None:
            detail = f"{bad}: contains a NUL byte (\\x00), which no text value may hold"
            answer = problem(422, "Invalid input", detail, field=bad, instance=scope["path"])
            await answer(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_body_bytes:
                answer = self._too_large(f"body of {int(declared)} bytes", scope)
                await answer(scope, receive, send)
            else:  # the server holds the body to its declared length
                await self.app(scope, receive, send)
            return
        # a body without a length (chunked): read it up to the limit, then replay it
        messages: list[Message] = []
        size = 0
        more = scope["method"] in ("POST", "PUT", "PATCH")
        while more:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                await self._too_large(f"body over {size} bytes", scope)(scope, receive, send)
                return
            more = bool(message.get("more_body"))

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    def _too_large(self, what: str, scope: Scope) -> JSONResponse:
        limit = self.max_body_bytes
        return problem(
            413,
            "Payload too large",
            f"{what}; at most {limit} ({setting_name('max_body_bytes')})",
            field="body",
            instance=scope["path"],
            limit=limit,
        )


def _nul_parameter(scope: Scope) -> str | None:
    """The name of the first path or query parameter holding a NUL byte, or None."""
    if "\x00" in scope["path"]:
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" not in query and "\x00" not in query:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True, encoding="latin-1"):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return "query"


def install(app: FastAPI, settings: Settings) -> None:
    """Add the edge limits and show the configured page size in the OpenAPI document."""
    app.add_middleware(RequestLimits, max_body_bytes=settings.max_body_bytes)
    build = app.openapi

    def openapi() -> dict[str, Any]:
        doc = build()
        operations = [op for item in doc.get("paths", {}).values() for op in item.values()]
        for operation in operations:
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter["name"] == "limit" and schema.get("maximum") == PAGE_SIZE_CEILING:
                    schema["maximum"] = settings.max_page_size
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
