"""Cleaning (accuracy, speed spikes, breaks) and the geofence note, on tables of fixes."""

from __future__ import annotations

import numpy as np
import shapely

from gis.coverage.thresholds import Thresholds
from gis.patrols.clean import clean, segments_of
from gis.patrols.fixes import Fixes
from gis.patrols.track import geofence

M_LAT = 1 / 111_000.0  # degrees of latitude per metre (near enough for a test walk)


def walk(metres_north: list[float], seconds: list[float], acc: list[float] | None = None) -> Fixes:
    n = len(seconds)
    return Fixes(
        np.asarray(seconds, dtype=float),
        np.full(n, 121.40),
        31.25 + np.asarray(metres_north) * M_LAT,
        np.asarray(acc if acc is not None else [5.0] * n, dtype=float),
        np.full(n, np.nan),
    )


def test_accuracy_spike_gap_jump_and_duplicates() -> None:
    north = [0, 5, 10, 400, 15, 20, 25, 25, 30, 1030, 1035]
    t = [0, 5, 10, 15, 20, 25, 30, 30, 400, 410, 415]
    acc = [5, 5, 80, 5, 5, 5, 5, 5, 5, 5, 5]
    cleaned = clean(walk(north, t, acc), Thresholds())
    assert cleaned.dropped == {"accuracy": 1, "speed": 1, "duplicate": 1}
    assert cleaned.broken == {"gaps": 1, "jumps": 1}
    kept_north = np.round((cleaned.fixes.lat - 31.25) / M_LAT).tolist()
    assert kept_north == [0, 5, 15, 20, 25, 30, 1030, 1035]
    i, j = cleaned.segments()
    # runs: 0..25 | 30 (after the gap, alone: a point) | 1030..1035 (after the jump)
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [
        (0, 1), (1, 2), (2, 3), (3, 4), (5, 5), (6, 7)
    ]  # fmt: skip


def test_segments_of_breaks() -> None:
    i, j = segments_of(np.array([True, False, True, True, False, False]))
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1), (2, 2), (3, 4), (4, 5)]


def test_geofence_notes_only_long_stays_outside() -> None:
    grid = shapely.box(121.39, 31.25 - 10 * M_LAT, 121.41, 31.25 + 100 * M_LAT)
    north = [0] * 3 + [200] * 15 + [0] * 3 + [300] * 5 + [0] * 2
    t = np.arange(len(north)) * 50.0  # a fix every 50 s, walking in and out slowly
    fixes = walk(north, t.tolist())
    cleaned = clean(fixes, Thresholds(patrol_max_speed_kmh=1000, patrol_max_gap_s=1000))
    notes = geofence(cleaned, grid, code="MG", limit_s=600)
    assert len(notes) == 1  # 15 fixes outside: 750 s; the later 5 (250 s) are not noted
    assert notes[0]["area_code"] == "MG" and notes[0]["fixes"] == 15
    assert notes[0]["seconds"] == 750.0


def test_period_defaults_and_naive_times() -> None:
    from datetime import UTC, datetime

    import pytest

    from gis.errors import InvalidInput
    from gis.patrols.coverage import period

    start, end = period(datetime(2026, 11, 1), None, window_days=30)
    assert start.tzinfo is UTC and end.tzinfo is not None and start < end
    start, end = period(None, datetime(2026, 12, 1), window_days=30)
    assert (end - start).days == 30
    with pytest.raises(InvalidInput) as caught:
        period(datetime(2026, 12, 2), datetime(2026, 12, 1), window_days=30)
    assert caught.value.field == "from"
