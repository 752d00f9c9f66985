"""Incident fixtures: a committed database with the small street, its staff and the shipped
categories; an intake context on it; connections rolled back per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Engine

from gis.assign.service import Assigner
from gis.geocode.cache import GazetteerCache
from gis.geocode.store import import_addresses
from gis.incidents.categories import DEFAULT_FILE, import_categories
from gis.incidents.intake import IntakeContext
from gis.incidents.locating import gazetteer_resolver
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
    folder = tmp_path_factory.mktemp("incident-addresses")
    (folder / "addresses.csv").write_text(
        "address,district,lon,lat\n"
        "测试路1号,普陀区,121.3925,31.2425\n"
        "测试路5号,普陀区,121.4075,31.2575\n"
        "测试路5号2号楼,普陀区,121.4076,31.2576\n",
        encoding="utf-8",
    )
    with engine.begin() as conn:
        import_categories(conn, DEFAULT_FILE)
        import_addresses(
            conn, folder / "addresses.csv", address_field="address", district_field="district"
        )
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def ctx(street_engine: Engine) -> IntakeContext:
    resolver = gazetteer_resolver(GazetteerCache(street_engine, check_seconds=0))
    return IntakeContext(Assigner(street_engine, check_seconds=0), WorkCalendar(), resolver)


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
