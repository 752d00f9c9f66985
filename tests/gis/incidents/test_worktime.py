"""SLA due dates across weekends, public holidays and an adjusted working Saturday (调休)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gis.errors import InvalidInput
from gis.incidents.worktime import WorkCalendar, read_overrides
from gis.settings import Settings

SH = ZoneInfo("Asia/Shanghai")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


CASES = [
    # (reported local, hours, clock, due local, why)
    ("2026-11-23 10:00", 2, "working", "2026-11-23 12:00", "same working day"),
    ("2026-11-23 07:00", 1, "working", "2026-11-23 10:00", "before opening starts at 09:00"),
    ("2026-11-23 20:00", 1, "working", "2026-11-24 10:00", "after closing: next day"),
    ("2026-11-20 16:30", 2, "working", "2026-11-23 10:00", "Friday into Monday"),
    ("2026-11-21 12:00", 1, "working", "2026-11-23 10:00", "reported on a Saturday"),
    ("2026-09-30 17:00", 1, "working", "2026-10-08 09:30", "National Day week off"),
    ("2026-10-09 17:00", 1, "working", "2026-10-10 09:30", "调休: Saturday 10 Oct works"),
    ("2026-09-18 17:00", 1, "working", "2026-09-20 09:30", "调休: Sunday 20 Sep works"),
    ("2026-11-20 16:30", 2, "calendar", "2026-11-20 18:30", "calendar hours ignore all that"),
    ("2026-09-30 17:00", 24, "working", "2026-10-10 15:30", "0.5+8.5+8.5 h, then 调休 Saturday"),
    ("2030-06-07 17:00", 1, "working", "2030-06-10 09:30", "unknown year: Monday–Friday"),
]


@pytest.mark.parametrize(
    ("start", "hours", "clock", "due", "why"), CASES, ids=[c[4] for c in CASES]
)
def test_due(start: str, hours: float, clock: str, due: str, why: str) -> None:
    assert WorkCalendar().due(t(start), hours, clock) == t(due), why


def test_local_file_overrides_the_package(tmp_path: Path) -> None:
    path = tmp_path / "calendar.csv"
    path.write_text("date,kind\n2026-10-10,holiday\n2026-11-21,workday\n")
    settings = Settings(incident_calendar_file=path, incident_work_end="18:00")
    calendar = WorkCalendar.from_settings(settings)
    assert calendar.due(t("2026-10-09 17:00"), 2, "working") == t("2026-10-12 10:00")
    assert calendar.due(t("2026-11-20 17:00"), 2, "working") == t("2026-11-21 10:00")


def test_bad_override_file_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "calendar.csv"
    path.write_text("date,kind\n2026-10-10,holiday\n2026-13-01,holiday\n")
    with pytest.raises(InvalidInput) as caught:
        read_overrides(path)
    assert caught.value.field == "date" and "line 3" in caught.value.reason


def test_working_hours_must_make_sense() -> None:
    with pytest.raises(InvalidInput) as caught:
        WorkCalendar.from_settings(Settings(incident_work_start="18:00", incident_work_end="09:00"))
    assert caught.value.field == "incident_work_end"
