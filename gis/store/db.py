"""Database engines: the configured PostGIS, or the managed local cluster."""

from __future__ import annotations

import contextlib
import select
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.pq import ConnStatus
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)

from gis.errors import Unavailable
from gis.settings import Settings
from gis.store.cluster import Cluster, Progress, _quiet


def managed_cluster(settings: Settings) -> Cluster:
    """The managed cluster under ``settings.home``."""
    return Cluster(settings.resolved_home(), bindir=settings.pg_bindir)


def database_url(settings: Settings, *, start: bool = True, progress: Progress = _quiet) -> str:
    """``WANGGE_DATABASE_URL`` if set; else the managed cluster's URL (started if ``start``)."""
    if settings.database_url:
        return settings.database_url
    cluster = managed_cluster(settings)
    return cluster.start(progress) if start else cluster.url()


def make_engine(url: str, *, statement_timeout_s: float = 0) -> Engine:
    """A SQLAlchemy engine with wangge's pool settings for ``url``.

    ``statement_timeout_s`` > 0 sets PostgreSQL's ``statement_timeout`` on every connection:
    a statement running longer is cancelled (SQLSTATE 57014, see :func:`is_timeout`).
    """
    connect_args: dict[str, object] = {"connect_timeout": 10}
    if statement_timeout_s > 0:
        connect_args["options"] = f"-c statement_timeout={round(statement_timeout_s * 1000)}"
    engine = create_engine(
        url,
        # no round-trip ping on every checkout: _check_idle_connection finds the connections a
        # server restart closed without one (see there)
        pool_pre_ping=False,
        # FastAPI runs sync endpoints on a 40-thread pool: keep enough connections open
        pool_size=10,
        max_overflow=30,
        connect_args=connect_args,
    )
    event.listen(engine, "checkout", _check_idle_connection)
    return engine


def _check_idle_connection(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Refuse a pooled connection the server has closed, without a round trip.

    A server that stops or restarts ends each session with a FATAL message and closes the
    socket, so an idle connection whose socket has anything to read (or is closed) is dead
    (nothing else arrives unasked on an idle connection here: no LISTEN). Raising
    DisconnectionError makes the pool discard it and check out another (or connect anew),
    as ``pool_pre_ping`` would, but without a ``SELECT 1`` per request (a round trip, and
    two more context switches, on every request). A connection lost silently (a network
    cut) fails on use instead: 503 and discarded, like one lost mid-statement."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:
        return  # not psycopg: nothing to look at
    if dbapi_connection.closed or pgconn.status != ConnStatus.OK:
        raise DisconnectionError("the connection is closed")
    try:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
    except (OSError, ValueError, psycopg.Error) as exc:
        raise DisconnectionError("the connection's socket is gone") from exc
    if readable:
        raise DisconnectionError("the server ended the session")


UNREACHABLE = "the database is unreachable; try again shortly"


def is_connection_error(exc: BaseException) -> bool:
    """Whether a SQLAlchemy error means the database is away (refused, dropped, restarting),
    as opposed to a bad statement."""
    if is_timeout(exc):  # psycopg's QueryCanceled is an OperationalError, but no outage
        return False
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
    )


QUERY_CANCELED = "57014"  # statement_timeout (or a cancel request) stopped the statement


def is_timeout(exc: BaseException) -> bool:
    """Whether a SQLAlchemy error is a statement cancelled by ``statement_timeout``."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == QUERY_CANCELED


def is_bad_value(exc: BaseException) -> bool:
    """Whether a SQLAlchemy error is PostgreSQL refusing a value the caller sent (SQLSTATE
    class 22, data exception: a number out of range, bad text for a type), or the driver
    refusing one before sending it (a NUL byte in text)."""
    return isinstance(exc, DataError)


@contextlib.contextmanager
def database_errors() -> Iterator[None]:
    """Turn a lost or refused database connection into :class:`Unavailable` (no host, port or
    driver detail leaks into the message)."""
    try:
        yield
    except DBAPIError as exc:
        if is_connection_error(exc):
            raise Unavailable(UNREACHABLE, field="database") from exc
        raise
