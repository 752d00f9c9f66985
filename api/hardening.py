"""What an attacker broke at the edge of the app, fixed in one place (issue 22: E, F, I, K).

- **E, proxies**: ``X-Forwarded-For``/``-Proto`` are believed only from the addresses in
  ``WANGGE_TRUSTED_PROXIES`` (none by default), so the audit log and the wrong-key throttle
  see the real peer.
- **F, parameters and budgets**: a query parameter an endpoint does not declare is refused
  (422 naming it), so ``?bust=N`` cannot make a cached page be built again; and expensive
  work (map pages, coverage checks, exports, heatmaps) runs at most
  ``WANGGE_EXPENSIVE_PER_KEY`` requests at once per key in a worker (429 beyond), so one key
  cannot take every thread from the others.
- **I, hosts**: the ``Host`` header is never reflected: links and redirects use
  ``WANGGE_PUBLIC_URL`` when set (and any other host is refused), else the address the client
  connected to; ``WANGGE_ALLOWED_HOSTS`` adds accepted names.
- **K, security headers** on every answer: ``nosniff``, ``Referrer-Policy``, framing refused
  (``X-Frame-Options``/``frame-ancestors``), and a Content Security Policy; HTML pages get a
  fresh nonce per response on each of their ``<script>`` elements (the Folium pages' inline
  scripts) and the configured basemaps' tile hosts in ``img-src``.

docs/security.md describes each setting with its default.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.problems import problem
from gis.limits import setting_name
from gis.maps.basemaps import tile_origins
from gis.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: endpoints that take free query parameters of their own (OGC queryables filter by name)
FREE_PARAMETERS = frozenset({"/ogc/collections/{collectionId}/items"})
#: what makes an endpoint expensive: a built page or a set-wide computation
_EXPENSIVE = re.compile(r"^/maps/|coverage|/export\.|heatmap|^/v1/(dashboard|evaluation)")


def install(app: FastAPI, settings: Settings) -> None:
    """Add the edge middleware to ``app``: proxies outermost, then hosts, then security
    headers, then the parameter check and the budget of expensive work."""
    app.state.expensive_budget = KeyBudget(settings.expensive_per_key)
    _document_basemaps(app, settings)
    app.add_middleware(ParameterGuard, api=app)
    app.add_middleware(SecurityHeaders, settings=settings)
    app.add_middleware(HostGuard, settings=settings)
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)


def _document_basemaps(app: FastAPI, settings: Settings) -> None:
    """The document offers the ``tianditu`` basemap only where a Tianditu key is configured
    (elsewhere the server refuses it): a value the document allows is accepted (§3)."""
    if settings.tianditu_key:
        return
    build = app.openapi

    def openapi() -> dict[str, Any]:
        doc: dict[str, Any] = build()
        for item in doc.get("paths", {}).values():
            for operation in item.values():
                for parameter in operation.get("parameters", []):
                    schema = parameter.get("schema", {})
                    if parameter.get("name") == "basemap" and "tianditu" in schema.get("enum", []):
                        schema["enum"] = [b for b in schema["enum"] if b != "tianditu"]
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


# --- F: declared parameters only, and a budget of expensive work per key -----------------------


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says of one path and method."""

    template: str
    parameters: frozenset[str] | None  # None: free parameters (OGC queryables)
    expensive: bool


class RouteTable:
    """The document's paths as one regular expression: request path and method to the
    :class:`Operation` (the document is what the server accepts, issue 22 §3)."""

    def __init__(self, document: dict[str, Any]) -> None:
        templates = sorted(
            document.get("paths", {}),
            key=lambda t: (t.count("{"), -len(t)),  # literal paths before templated ones
        )
        self.operations: dict[tuple[int, str], Operation] = {}
        patterns = []
        for number, template in enumerate(templates):
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            patterns.append(f"(?P<p{number}>{pattern})")
            for method, spec in document["paths"][template].items():
                if not isinstance(spec, dict) or "responses" not in spec:
                    continue
                names = frozenset(
                    p["name"] for p in spec.get("parameters", []) if p.get("in") == "query"
                )
                self.operations[(number, method.upper())] = Operation(
                    template,
                    None if template in FREE_PARAMETERS else names,
                    bool(_EXPENSIVE.search(template)),
                )
        self._pattern = re.compile("|".join(patterns)) if patterns else None

    def methods_at(self, path: str) -> list[str]:
        """The methods the document lists for ``path`` (none for a path it does not know)."""
        match = self._pattern.fullmatch(path) if self._pattern is not None else None
        if match is None or match.lastgroup is None:
            return []
        number = int(match.lastgroup[1:])
        return sorted(method for n, method in self.operations if n == number)

    def find(self, path: str, method: str) -> Operation | None:
        if self._pattern is None:
            return None
        match = self._pattern.fullmatch(path)
        if match is None or match.lastgroup is None:
            return None
        if method == "HEAD":
            method = "GET"
        return self.operations.get((int(match.lastgroup[1:]), method))


def unknown_parameter(query_string: bytes, allowed: frozenset[str]) -> str | None:
    """The first query parameter name not in ``allowed``, or None."""
    if not query_string:
        return None
    for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name not in allowed:
            return name
    return None


class KeyBudget:
    """Expensive requests in flight per caller, in this worker: at most ``per_key`` at once."""

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self.running: dict[str, int] = {}

    def enter(self, who: str) -> bool:
        """Take a slot for ``who``; False when they already hold ``per_key`` (the event loop
        is single-threaded: no lock needed)."""
        held = self.running.get(who, 0)
        if held >= self.per_key:
            return False
        self.running[who] = held + 1
        return True

    def leave(self, who: str) -> None:
        held = self.running.get(who, 1) - 1
        if held > 0:
            self.running[who] = held
        else:
            self.running.pop(who, None)


def caller_of(scope: Scope) -> str:
    """Whom a request's budget is charged to: a digest of its credential (key or sign-in
    cookie), else its client address. A wrong credential fails authentication anyway."""
    credential = b""
    for name, value in scope["headers"]:
        if name in (b"x-api-key", b"authorization"):
            credential = value
            break
        if name == b"cookie" and b"wangge_session" in value:
            credential = value
    if credential:
        return hashlib.sha256(credential.strip()).hexdigest()
    client = scope.get("client")
    return f"client {client[0] if client else '?'}"


class ParameterGuard:
    """Refuses query parameters an operation does not declare (422 naming the first) and
    charges expensive operations to the caller's :class:`KeyBudget` (429 beyond it)."""

    def __init__(self, app: ASGIApp, *, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self._table: RouteTable | None = None

    def table(self) -> RouteTable:
        if self._table is None:
            self._table = RouteTable(self.api.openapi())
            self.api.state.route_table = self._table  # the 405 answers' Allow (api.problems)
        return self._table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            # the document once the app has started (its enums read the database), before
            # the first request
            async def started(message: Message) -> None:
                if message["type"] == "lifespan.startup.complete":
                    self.table()
                await send(message)

            await self.app(scope, receive, started)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        operation = self.table().find(scope["path"], scope["method"])
        if operation is None:
            await self.app(scope, receive, send)
            return
        if operation.parameters is not None:
            name = unknown_parameter(scope.get("query_string", b""), operation.parameters)
            if name is not None:
                listed = ", ".join(sorted(operation.parameters)) or "none"
                detail = f"unknown query parameter {name!r}; this endpoint takes: {listed}"
                answer = problem(422, "Invalid input", detail, field=name, instance=scope["path"])
                await answer(scope, receive, send)
                return
        if not operation.expensive:
            await self.app(scope, receive, send)
            return
        budget: KeyBudget = self.api.state.expensive_budget
        who = caller_of(scope)
        if not budget.enter(who):
            answer = problem(
                429,
                "Too many requests",
                f"at most {budget.per_key} expensive requests (map pages, coverage, exports, "
                f"heatmaps) at once per key ({setting_name('expensive_per_key')}); wait for "
                "one to finish",
                field="rate_limit",
                instance=scope["path"],
            )
            answer.headers["Retry-After"] = "1"
            await answer(scope, receive, send)
            return
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                budget.leave(who)

        async def sending(message: Message) -> None:
            # the slot is free once the answer is out: the clean-up after it (closing the
            # request's connection in a thread) must not make the caller's next request wait
            if message["type"] == "http.response.body" and not message.get("more_body"):
                give_back()
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            give_back()


# --- I: the Host header is never reflected ------------------------------------------------------


class HostGuard:
    """Rewrites each request's host to the configured public URL (refusing other hosts), or to
    the address the client connected to when none is configured."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.public: tuple[str, str, tuple[str, int]] | None = None
        allowed = {h.lower() for h in settings.allowed_hosts}
        if settings.public_url:
            url = urlsplit(settings.public_url)
            scheme = url.scheme or "http"
            port = url.port or (443 if scheme == "https" else 80)
            host = (url.hostname or "").lower()
            self.public = (scheme, url.netloc.lower(), (host, port))
            allowed |= {url.netloc.lower(), host, f"{host}:{port}"}
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = b""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
                break
        given = host.decode("latin-1").lower()
        if self.allowed and given not in self.allowed:
            answer = problem(
                400,
                "Bad request",
                f"this server does not answer for that host ({setting_name('public_url')}, "
                f"{setting_name('allowed_hosts')})",
                field="Host",
                instance=scope["path"],
            )
            await answer(scope, receive, send)
            return
        if self.public is not None:
            scheme, netloc, server = self.public
            scope["scheme"] = scheme
            scope["server"] = server
            scope["headers"] = _with_host(scope["headers"], netloc.encode("latin-1"))
        elif not self.allowed:
            own = _own_address(scope)
            if own is not None:
                scope["headers"] = _with_host(scope["headers"], own)
        await self.app(scope, receive, send)


def _own_address(scope: Scope) -> bytes | None:
    """``host[:port]`` of the address this connection reached (not the Host header)."""
    local = scope.get("server")
    if not local:
        return None
    host, port = str(local[0]), local[1]
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    default = 443 if scope.get("scheme") == "https" else 80
    return (host if port in (None, default) else f"{host}:{port}").encode("latin-1")


def _with_host(headers: list[tuple[bytes, bytes]], host: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"host", host)] + [(n, v) for n, v in headers if n != b"host"]


# --- K: security headers -------------------------------------------------------------------------

_SCRIPT_TAG = re.compile(rb"<script(?=[\s>])", re.IGNORECASE)
#: pages FastAPI serves from its CDN (Swagger UI, ReDoc)
_DOC_PAGES = ("/docs", "/redoc")
_DOC_SOURCES = "https://cdn.jsdelivr.net https://fastapi.tiangolo.com"


class SecurityHeaders:
    """nosniff, Referrer-Policy, no framing, and a Content Security Policy on every answer;
    HTML answers get a per-response script nonce."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        ancestors = " ".join(settings.frame_ancestors) or "'none'"
        images = " ".join(tile_origins(tianditu=settings.tianditu_key is not None))
        self.page_policy = (
            "default-src 'self'; script-src 'self' 'nonce-{nonce}'{extra}; "
            "style-src 'self' 'unsafe-inline'{extra}; "
            f"img-src 'self' data: blob: {images}{{extra}}; "
            "font-src 'self' data:; connect-src 'self'; object-src 'none'; "
            # ReDoc (served from the vendored copy) runs its search in a blob: worker
            "worker-src 'self' blob:; "
            f"base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}"
        )
        self.api_policy = f"default-src 'none'; frame-ancestors {ancestors}".encode()
        self.common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]
        if not settings.frame_ancestors:
            self.common.append((b"x-frame-options", b"DENY"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        html = False
        body: list[bytes] = []

        async def secured(message: Message) -> None:
            nonlocal start, html
            if message["type"] == "http.response.start":
                headers = [
                    (n, v) for n, v in message.get("headers", []) if n.lower() != b"content-length"
                ]
                kind = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                html = kind.startswith(b"text/html") and scope["method"] != "HEAD"
                if not html:
                    nonce = secrets.token_urlsafe(16) if kind.startswith(b"text/html") else None
                    message["headers"] = [*message.get("headers", []), *self._headers(nonce)]
                    await send(message)
                    return
                start = {**message, "headers": headers}
                return
            if not html or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            assert start is not None
            nonce = secrets.token_urlsafe(16)
            page = _SCRIPT_TAG.sub(f'<script nonce="{nonce}"'.encode(), b"".join(body))
            start["headers"] = [
                *start["headers"],
                (b"content-length", str(len(page)).encode()),
                *self._headers(nonce, docs=scope["path"] in _DOC_PAGES),
            ]
            await send(start)
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, secured)

    def _headers(self, nonce: str | None, *, docs: bool = False) -> list[tuple[bytes, bytes]]:
        if nonce is None:
            policy = self.api_policy
        else:
            extra = f" {_DOC_SOURCES}" if docs else ""
            policy = self.page_policy.format(nonce=nonce, extra=extra).encode()
        return [*self.common, (b"content-security-policy", policy)]
