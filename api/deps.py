"""Request-scoped dependencies: a database connection and the resolved generation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import Connection, Engine

from api.schemas.common import GenerationParam, IsoDateTime
from gis.areas.generations import resolve_generation
from gis.settings import Settings
from gis.store.db import database_errors


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:  # async: no thread hand-off to read state
    # issue 28: a heavy read may have been routed to a replica (api/replicas.py)
    engine: Engine = getattr(request.state, "read_engine", None) or request.app.state.engine
    return engine


def get_conn(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    """A read-only connection for the request (a transaction rolled back at the end); a
    database that cannot be reached is :class:`~gis.errors.Unavailable` (503)."""
    with database_errors():
        conn = engine.connect()
    with conn:
        yield conn


Conn = Annotated[Connection, Depends(get_conn)]


def get_generation(
    conn: Conn,
    generation: GenerationParam = None,
    as_of: Annotated[
        IsoDateTime | None,
        Query(description="Read the generation that was current at this time (ISO 8601)."),
    ] = None,
) -> int:
    return resolve_generation(conn, generation=generation, as_of=as_of)


GenerationNumber = Annotated[int, Depends(get_generation)]
