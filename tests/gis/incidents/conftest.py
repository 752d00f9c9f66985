"""Incident fixtures: a committed database with the small street, its staff and the shipped
categories; an intake context on it; connections rolled back per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine

from gis.assign.service import Assigner
from gis.incidents.categories import DEFAULT_FILE, import_categories
from gis.incidents.intake import IntakeContext
from gis.incidents.worktime import WorkCalendar
from gis.store.db import make_engine
from tests.fixtures import load_small_street

# a Monday, 10:00 in Shanghai
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def street_engine(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    engine = make_engine(new_database())
    load_small_street(engine, tmp_path_factory.mktemp("incidents"))
    with engine.begin() as conn:
        import_categories(conn, DEFAULT_FILE)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def ctx(street_engine: Engine) -> IntakeContext:
    return IntakeContext(Assigner(street_engine, check_seconds=0), WorkCalendar())


@pytest.fixture
def sconn(street_engine: Engine) -> Iterator[Connection]:
    """A connection on the small street, rolled back after the test."""
    with street_engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


def body(**kw: object) -> dict[str, object]:
    """An incident body in M1 (south-west micro-grid) unless overridden."""
    out: dict[str, object] = {
        "category": "garbage",
        "description": "垃圾堆在门口",
        "source": "hotline",
        "lon": 121.3925,
        "lat": 31.2425,
        "reported_at": "2026-11-23T09:30:00+08:00",
    }
    out.update(kw)
    return out


__all__ = ["NOW", "Path", "body"]
