"""Every code a page shows has a Chinese name, and times read in local time to the minute."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gis import labels


@pytest.mark.parametrize("table, codes", labels.TABLES)
def test_every_code_has_a_name(table: dict[str, str], codes: tuple[str, ...]) -> None:
    assert set(table) == set(codes)
    assert all(name and name.isascii() is False for name in table.values())


def test_every_transition_target_has_a_verb() -> None:
    from gis.incidents.lifecycle import TRANSITIONS

    targets = {to for tos in TRANSITIONS.values() for to in tos}
    assert targets <= set(labels.ACTION_NAMES)


def test_local_time_is_to_the_minute_in_the_zone() -> None:
    at = datetime(2026, 11, 7, 4, 11, 15, 389423, tzinfo=UTC)
    assert labels.local_time(at, "Asia/Shanghai") == "2026-11-07 12:11"
    assert labels.local_time("2026-11-07T04:11:15.389423+00:00", "Asia/Shanghai") == (
        "2026-11-07 12:11"
    )
    assert labels.local_time(None, "Asia/Shanghai") == ""


def test_durations_read_as_people_say_them() -> None:
    assert labels.duration_zh(12 * 60 + 5) == "12分钟"
    assert labels.duration_zh(2 * 3600 + 5 * 60) == "2小时5分钟"
    assert labels.duration_zh(-(3 * 86400 + 4 * 3600)) == "3天4小时"
    assert labels.name_of(labels.STATE_NAMES, "resolved") == "已办结"
    assert labels.name_of(labels.STATE_NAMES, None) == ""


def test_every_coverage_check_and_severity_has_a_name() -> None:
    from gis.coverage.registry import CHECKS

    assert set(labels.CHECK_NAMES) == set(CHECKS)
    assert set(labels.SEVERITY_NAMES) == {"error", "warning", "info"}


def test_finding_messages_read_in_chinese() -> None:
    assert (
        labels.finding_message_zh("sliver", "春江居委", 60.4, "m2")
        == "碎片面（春江居委）：60 平方米"
    )
    assert labels.measure_zh(0.35, "share") == "35%"
    assert labels.measure_zh(420, "households/member") == "每名网格员 420 户"
    assert labels.name_of(labels.SUBJECT_NAMES, "staff") == "网格人员"
