"""The OGC ``datetime`` parameter: an instant or an interval, and the boundary generations
that were current during it (areas are versioned by generation, not by timestamp)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from gis.errors import InvalidInput
from gis.store.models import GENERATIONS

_OPEN = ("", "..")


@dataclass(frozen=True)
class TimeFilter:
    """``start``..``end`` (UTC; None is open-ended); an instant has ``start == end``."""

    start: datetime | None
    end: datetime | None

    @property
    def instant(self) -> bool:
        """True when the filter names one moment rather than an interval."""
        return self.start is not None and self.start == self.end


def _moment(text: str, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not an RFC 3339 date-time (e.g. 2026-03-31T00:00:00Z)", field=field
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_datetime(text: str, *, field: str = "datetime") -> TimeFilter:
    """Parse ``2026-03-31T00:00:00Z``, ``a/b``, ``../b`` or ``a/..``; naive times are UTC.

    Raises InvalidInput naming ``field`` for a malformed value, ``../..`` or an interval that
    ends before it starts.
    """
    parts = text.strip().split("/")
    if len(parts) == 1:
        moment = _moment(parts[0], field)
        return TimeFilter(moment, moment)
    if len(parts) != 2 or (parts[0] in _OPEN and parts[1] in _OPEN):
        raise InvalidInput(
            "expected an instant or an interval start/end (either end may be '..')", field=field
        )
    start = None if parts[0] in _OPEN else _moment(parts[0], field)
    end = None if parts[1] in _OPEN else _moment(parts[1], field)
    if start is not None and end is not None and end < start:
        raise InvalidInput("the interval ends before it starts", field=field)
    return TimeFilter(start, end)


def generations_during(conn: Connection, when: TimeFilter) -> tuple[int, int] | None:
    """The first and last generation that was current at some moment of ``when``
    (inclusive), or None when none was (before the first activation).

    Generations become current in number order and a retired one never returns, so the
    answer is one contiguous range.
    """
    rows = conn.execute(
        select(GENERATIONS.c.id, GENERATIONS.c.activated_at)
        .where(GENERATIONS.c.activated_at.is_not(None))
        .order_by(GENERATIONS.c.activated_at, GENERATIONS.c.id)
    ).all()
    current_at_start: int | None = None
    inside: list[int] = []
    for number, activated_at in rows:
        if when.start is not None and activated_at <= when.start:
            current_at_start = number
        elif when.end is None or activated_at <= when.end:
            inside.append(number)
    numbers = ([current_at_start] if current_at_start is not None else []) + inside
    if not numbers:
        return None
    return min(numbers), max(numbers)
