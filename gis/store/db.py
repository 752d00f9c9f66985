"""Database engines: the configured PostGIS, or the managed local cluster."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

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


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine with wangge's pool settings for ``url``."""
    return create_engine(
        url,
        pool_pre_ping=True,
        # FastAPI runs sync endpoints on a 40-thread pool: keep enough connections open
        pool_size=10,
        max_overflow=30,
        connect_args={"connect_timeout": 10},
    )


UNREACHABLE = "the database is unreachable; try again shortly"


def is_connection_error(exc: BaseException) -> bool:
    """Whether a SQLAlchemy error means the database is away (refused, dropped, restarting),
    as opposed to a bad statement."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
    )


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
