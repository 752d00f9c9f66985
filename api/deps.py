"""Request-scoped dependencies: a database connection and the resolved generation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import Connection, Engine

from gis.areas.generations import resolve_generation
from gis.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_conn(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    """A read-only connection for the request (a transaction rolled back at the end)."""
    with engine.connect() as conn:
        yield conn


Conn = Annotated[Connection, Depends(get_conn)]


def get_generation(
    conn: Conn,
    generation: Annotated[
        int | None,
        Query(ge=1, description="Boundary generation to read (default: the current one)."),
    ] = None,
    as_of: Annotated[
        datetime | None,
        Query(description="Read the generation that was current at this time (ISO 8601)."),
    ] = None,
) -> int:
    return resolve_generation(conn, generation=generation, as_of=as_of)


GenerationNumber = Annotated[int, Depends(get_generation)]
