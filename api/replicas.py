"""Heavy reads from streaming replicas, with a stated staleness (issue 28).

With ``WANGGE_DATABASE_REPLICA_URLS`` set, ``GET``/``HEAD`` requests for statistics, maps,
tiles, the heatmap, OGC API and exports (:data:`READ_PREFIXES`) read from the first replica
that answers and is at most ``WANGGE_REPLICA_MAX_LAG_SECONDS`` behind; every other request,
and every request of a key that wrote within that bound, uses the primary. The answer says
where it was read: ``X-Wangge-Read-From: replica`` with ``X-Wangge-Replica-Lag`` (seconds),
or ``X-Wangge-Read-From: primary``.

* **Staleness**: the replica's lag is measured on every routed request (one tiny query on
  the replica: 0 while it streams and has replayed all it received, else the age of its last
  replayed transaction). A replica over the bound, stopped or unreachable is skipped, so an
  answer is never more than the bound behind; with none left the primary answers (no 5xx).
* **Your own writes**: a successful write (POST/PUT/PATCH/DELETE) by a key records the time
  in ``key_writes`` on the primary before its answer is sent; that key's reads go to the
  primary until the bound has passed, so a write on one host is seen by the next read on any
  host. The cost is one primary lookup per routed read of a key, and one upsert per write.

The routing is ASGI middleware that leaves the choice in ``request.state.read_engine``;
:func:`api.deps.get_engine` (hence ``Conn``) uses it. Routes need no change.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.limits import ASGIApp, Message, Receive, Scope, Send
from gis.security.keys import split_key
from gis.settings import Settings
from gis.store.db import make_engine
from gis.store.replica import REPLICA_LAG_SQL

READ_PREFIXES = (
    "/v1/stats",
    "/v1/heatmap",
    "/v1/incidents/export",
    "/ogc",
    "/maps",
    "/tiles",
)
SAFE = frozenset({"GET", "HEAD"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: how long a replica that failed is left alone before it is tried again
RETRY_DOWN_SECONDS = 1.0
APPLICATION_NAME = "wangge_replica_read"

_RECORD_WRITE = text(
    "INSERT INTO key_writes (key_id, at) VALUES (:key_id, now()) "
    "ON CONFLICT (key_id) DO UPDATE SET at = now()"
)
_WROTE_AGO = text("SELECT extract(epoch FROM now() - at) FROM key_writes WHERE key_id = :key_id")


@dataclass
class Replica:
    url: str
    engine: Engine
    down_until: float = 0.0


@dataclass
class Choice:
    engine: Engine | None  # None: the primary
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def key_id_of(scope: Scope) -> str | None:
    """The key id the request names (X-API-Key, Bearer, or the sign-in cookie), for routing
    only: authentication happens later, in the route; a wrong id only sends its own reads to
    the primary."""
    for name, value in scope["headers"]:
        raw = value.decode("latin-1").strip()
        if name == b"x-api-key" or (name == b"authorization" and raw.lower().startswith("bearer ")):
            parts = split_key(raw.split()[-1])
            if parts is not None:
                return parts[0]
        elif name == b"cookie" and "wangge_session=" in raw:
            session = raw.split("wangge_session=", 1)[1].split(";", 1)[0]
            return session.split(".", 1)[0] or None
    return None


class ReadRouting:
    """ASGI middleware: picks the database of each read; records each key's writes."""

    def __init__(self, app: ASGIApp, *, api: FastAPI, settings: Settings) -> None:
        self.app = app
        self.api = api
        self.max_lag = settings.replica_max_lag_seconds
        self.replicas = [
            Replica(url, make_engine(_named(url), statement_timeout_s=settings.statement_timeout_s))
            for url in settings.replica_urls()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.replicas:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if method in SAFE and path.startswith(READ_PREFIXES):
            choice = await run_in_threadpool(self.choose, key_id_of(scope))
            if choice.engine is not None:
                scope.setdefault("state", {})["read_engine"] = choice.engine
            await self.app(scope, receive, _with_headers(send, choice.headers))
        elif method in WRITES:
            await self.app(scope, receive, self._recording(scope, send))
        else:
            await self.app(scope, receive, send)

    # -- reads ------------------------------------------------------------------------------

    def choose(self, key_id: str | None) -> Choice:
        if key_id is not None and self._wrote_recently(key_id):
            return Choice(None, [(b"x-wangge-read-from", b"primary; own recent write")])
        for replica in self.replicas:
            lag = self._lag(replica)
            if lag is not None and lag <= self.max_lag:
                return Choice(
                    replica.engine,
                    [
                        (b"x-wangge-read-from", b"replica"),
                        (b"x-wangge-replica-lag", f"{lag:.3f}".encode()),
                    ],
                )
        return Choice(None, [(b"x-wangge-read-from", b"primary")])

    def _lag(self, replica: Replica) -> float | None:
        """Seconds ``replica`` is behind, or None when it is down (or not a standby)."""
        if time.monotonic() < replica.down_until:
            return None
        try:
            with replica.engine.connect() as conn:
                lag = conn.execute(text(REPLICA_LAG_SQL)).scalar()
        except SQLAlchemyError:
            replica.down_until = time.monotonic() + RETRY_DOWN_SECONDS
            replica.engine.dispose()  # the pool's connections to a stopped server are dead
            return None
        return None if lag is None else float(lag)

    def _wrote_recently(self, key_id: str) -> bool:
        engine: Engine = self.api.state.engine
        try:
            with engine.connect() as conn:
                ago = conn.execute(_WROTE_AGO, {"key_id": key_id}).scalar()
        except SQLAlchemyError:
            return True  # cannot tell: the primary is the safe answer (and says if it is away)
        return ago is not None and float(ago) <= self.max_lag + 1.0

    # -- writes -----------------------------------------------------------------------------

    def _recording(self, scope: Scope, send: Send) -> Send:
        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                principal = scope.get("state", {}).get("principal")
                key_id = getattr(principal, "key_id", None)
                if key_id:
                    await run_in_threadpool(self._record, key_id)
            await send(message)

        return recording

    def _record(self, key_id: str) -> None:
        engine: Engine = self.api.state.engine
        with contextlib.suppress(SQLAlchemyError), engine.begin() as conn:
            conn.execute(_RECORD_WRITE, {"key_id": key_id})


def _with_headers(send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *headers]}
        await send(message)

    return sending


def _named(url: str) -> str:
    """``url`` with an application name, so the replica's pg_stat_activity shows our reads."""
    return (
        make_url(url)
        .update_query_dict({"application_name": APPLICATION_NAME})
        .render_as_string(hide_password=False)
    )


def install(app: FastAPI, settings: Settings) -> None:
    """Route heavy reads to the replicas (nothing happens without any configured)."""
    app.add_middleware(ReadRouting, api=app, settings=settings)


def read_engine(request: Any) -> Engine | None:
    """The engine this request's reads should use, if not the primary's."""
    engine: Engine | None = getattr(request.state, "read_engine", None)
    return engine
