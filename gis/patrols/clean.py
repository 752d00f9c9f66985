"""Cleaning a track: inaccurate fixes and speed spikes out, breaks where it cannot be joined."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from gis.coverage.thresholds import Thresholds
from gis.patrols import _kernels
from gis.patrols.fixes import Fixes


@dataclass(frozen=True)
class Cleaned:
    """The kept fixes, where the track breaks, and what was dropped and why.

    ``breaks[k]`` is True where kept fix ``k`` starts a new run (the first fix, after a gap
    longer than ``patrol_max_gap_s`` or a jump faster than ``patrol_max_speed_kmh``): no
    segment joins it to the fix before. ``dropped`` counts ``accuracy`` (worse than
    ``patrol_max_accuracy_m``), ``speed`` (spikes), ``duplicate`` (a second fix for one
    instant); ``breaks`` counts ``gaps`` and ``jumps``."""

    fixes: Fixes
    breaks: npt.NDArray[np.bool_]
    dropped: dict[str, int] = field(default_factory=dict)
    broken: dict[str, int] = field(default_factory=dict)

    def segments(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Fix index pairs (i, j) of the segments: consecutive fixes of a run, and a fix alone
        in its run as (i, i)."""
        return segments_of(self.breaks)


def segments_of(breaks: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """Segments (i, j) of fixes split into runs at ``breaks`` (see :class:`Cleaned`)."""
    m = len(breaks)
    if m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    idx = np.arange(m - 1, dtype=np.int64)
    joined = idx[~breaks[1:]]
    nxt_break = np.ones(m, dtype=bool)
    nxt_break[:-1] = breaks[1:]
    alone = np.flatnonzero(breaks & nxt_break).astype(np.int64)
    i = np.concatenate([joined, alone])
    j = np.concatenate([joined + 1, alone])
    order = np.argsort(i, kind="stable")
    return i[order], j[order]


def clean(fixes: Fixes, thresholds: Thresholds) -> Cleaned:
    """Sort by time, drop repeats of an instant, fixes less accurate than
    ``patrol_max_accuracy_m`` and speed spikes above ``patrol_max_speed_kmh``; break the
    track at gaps over ``patrol_max_gap_s`` and at single too-fast steps."""
    ordered, duplicates = fixes.sorted_unique()
    with np.errstate(invalid="ignore"):
        accurate = ~(ordered.accuracy_m > thresholds.patrol_max_accuracy_m)
    kept, brk, spikes, jumps, gaps = _kernels.clean_track(
        ordered.t,
        ordered.lon,
        ordered.lat,
        accurate,
        thresholds.patrol_max_speed_kmh / 3.6,
        thresholds.patrol_max_gap_s,
    )
    return Cleaned(
        ordered.take(kept),
        brk[kept],
        {"accuracy": int((~accurate).sum()), "speed": int(spikes), "duplicate": duplicates},
        {"gaps": int(gaps), "jumps": int(jumps)},
    )


def totals(
    cleaned: Cleaned, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[float, float]:
    """Distance walked (m; ``x``/``y`` the kept fixes in local metres) and time on patrol
    (s): the sum over segments (a gap or a jump counts neither)."""
    i, j = cleaned.segments()
    if not len(i):
        return 0.0, 0.0
    metres = float(np.hypot(x[j] - x[i], y[j] - y[i]).sum())
    seconds = float((cleaned.fixes.t[j] - cleaned.fixes.t[i]).sum())
    return metres, seconds
