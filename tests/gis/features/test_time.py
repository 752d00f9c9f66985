"""The OGC ``datetime`` parameter and the generations current during it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, insert

from gis.errors import InvalidInput
from gis.features.time import TimeFilter, generations_during, parse_datetime
from gis.store.models import GENERATIONS

T = datetime(2026, 3, 31, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-03-31T00:00:00Z", T, T),
        ("2026-03-31T08:00:00+08:00", T, T),
        ("2026-03-31T00:00:00", T, T),  # naive: UTC
        ("2026-03-31T00:00:00Z/..", T, None),
        ("../2026-03-31T00:00:00Z", None, T),
        ("/2026-03-31T00:00:00Z", None, T),
        ("2026-03-30T00:00:00Z/2026-03-31T00:00:00Z", T - timedelta(days=1), T),
    ],
)
def test_parse_datetime(text: str, start: datetime | None, end: datetime | None) -> None:
    assert parse_datetime(text) == TimeFilter(start, end)


@pytest.mark.parametrize(
    "text", ["yesterday", "../..", "a/b/c", "2026-03-31T00:00:00Z/2026-03-30T00:00:00Z", ""]
)
def test_bad_datetime_names_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_datetime(text)
    assert caught.value.field == "datetime"


def test_generations_during(conn: Connection) -> None:
    day = timedelta(days=1)
    conn.execute(
        insert(GENERATIONS),
        [
            {"id": 1, "state": "retired", "activated_at": T},
            {"id": 2, "state": "retired", "activated_at": T + 10 * day},
            {"id": 3, "state": "current", "activated_at": T + 20 * day},
            {"id": 4, "state": "open", "activated_at": None},
        ],
    )
    moment = parse_datetime
    assert generations_during(conn, moment("2026-03-30T00:00:00Z")) is None  # before the first
    assert generations_during(conn, TimeFilter(T, T)) == (1, 1)
    assert generations_during(conn, TimeFilter(T + 5 * day, T + 5 * day)) == (1, 1)
    assert generations_during(conn, TimeFilter(T + 15 * day, T + 15 * day)) == (2, 2)
    assert generations_during(conn, TimeFilter(T + 99 * day, T + 99 * day)) == (3, 3)
    assert generations_during(conn, TimeFilter(T + 5 * day, T + 15 * day)) == (1, 2)
    assert generations_during(conn, TimeFilter(None, T + 15 * day)) == (1, 2)
    assert generations_during(conn, TimeFilter(T + 15 * day, None)) == (2, 3)
    assert generations_during(conn, TimeFilter(T - 9 * day, T - day)) is None
