"""SLA clocks: due dates in calendar hours, or in working hours that skip weekends, Chinese
public holidays and count the adjusted working weekends (调休).

Working days come from the ``chinese-calendar`` package (maintained each year from the State
Council's notice), overridden day by day by an optional local CSV ``date,kind``
(``workday``/``holiday``). A year the package does not know falls back to Monday–Friday.
Times are aware datetimes; working hours are wall-clock times in the configured time zone.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from gis.errors import InvalidInput, NotFound
from gis.settings import Settings

KINDS = ("workday", "holiday")
MAX_DAYS = 3660  # no SLA runs ten years; a calendar with no working day must not loop forever


def _hhmm(text: str, name: str) -> time:
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise InvalidInput(f"{text!r} is not a HH:MM time", field=name) from None


def read_overrides(path: Path) -> dict[date, bool]:
    """``date,kind`` rows as {date: is_workday}; a bad row raises InvalidInput naming it."""
    if not path.exists():
        raise NotFound(f"no such calendar file: {path}", field="incident_calendar_file")
    out: dict[date, bool] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                day = date.fromisoformat((row.get("date") or "").strip())
            except ValueError:
                raise InvalidInput(
                    f"line {line}: {row.get('date')!r} is not a YYYY-MM-DD date", field="date"
                ) from None
            kind = (row.get("kind") or "").strip()
            if kind not in KINDS:
                raise InvalidInput(f"line {line}: kind must be workday or holiday", field="kind")
            out[day] = kind == "workday"
    return out


@dataclass
class WorkCalendar:
    """Working days and hours; ``due(start, hours, clock)`` gives an SLA deadline."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    start: time = time(9, 0)
    end: time = time(17, 30)
    overrides: dict[date, bool] = field(default_factory=dict)
    _cache: dict[date, bool] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkCalendar:
        start = _hhmm(settings.incident_work_start, "incident_work_start")
        end = _hhmm(settings.incident_work_end, "incident_work_end")
        if end <= start:
            raise InvalidInput("must be after incident_work_start", field="incident_work_end")
        overrides = (
            read_overrides(settings.incident_calendar_file)
            if settings.incident_calendar_file
            else {}
        )
        return cls(ZoneInfo(settings.incident_timezone), start, end, overrides)

    def is_workday(self, day: date) -> bool:
        """True on a working day: overrides first, then the Chinese calendar (holidays off,
        调休 weekends on), then Monday–Friday for years the package does not cover."""
        if day in self.overrides:
            return self.overrides[day]
        known = self._cache.get(day)
        if known is None:
            import chinese_calendar

            try:
                known = bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                known = day.weekday() < 5
            self._cache[day] = known
        return known

    def due(self, start: datetime, hours: float, clock: str) -> datetime:
        """``start`` plus ``hours`` on the given clock (``calendar`` or ``working``), as an
        aware datetime in UTC. Working time before opening starts at opening; after closing,
        on the next working day."""
        if start.tzinfo is None:
            raise InvalidInput("must include a time zone", field="reported_at")
        if clock == "calendar":
            return (start + timedelta(hours=hours)).astimezone(UTC)
        remaining = timedelta(hours=hours)
        local = start.astimezone(self.tz)
        day = local.date()
        for _ in range(MAX_DAYS):
            if self.is_workday(day):
                opens = datetime.combine(day, self.start, self.tz)
                closes = datetime.combine(day, self.end, self.tz)
                begin = max(local, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= available
            day += timedelta(days=1)
            local = datetime.combine(day, time(0, 0), self.tz)
        raise InvalidInput(f"no working time within {MAX_DAYS} days", field="clock")
