"""Database engines: the configured PostGIS, or the managed local cluster."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

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
