"""A patrol's GPS fixes as columns (numpy), and the one way JSON points become them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from gis.crs import parse_crs, points_to_wgs84
from gis.errors import InvalidInput, PayloadTooLarge

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Fixes:
    """GPS fixes in time order: ``t`` in seconds since the epoch (UTC), WGS-84 ``lon``/``lat``,
    ``accuracy_m`` and ``ele_m`` (NaN where not reported)."""

    t: FloatArray
    lon: FloatArray
    lat: FloatArray
    accuracy_m: FloatArray
    ele_m: FloatArray

    def __len__(self) -> int:
        return len(self.t)

    def take(self, index: npt.NDArray[Any]) -> Fixes:
        """The fixes at ``index`` (a mask or positions)."""
        return Fixes(
            self.t[index],
            self.lon[index],
            self.lat[index],
            self.accuracy_m[index],
            self.ele_m[index],
        )

    @staticmethod
    def empty() -> Fixes:
        z = np.zeros(0)
        return Fixes(z, z, z, z, z)

    def sorted_unique(self) -> tuple[Fixes, int]:
        """Fixes in time order, one per instant (the first sent wins); and how many repeated
        an instant already held."""
        if not len(self):
            return self, 0
        order = np.argsort(self.t, kind="stable")
        t = self.t[order]
        keep = np.ones(len(t), dtype=bool)
        keep[1:] = t[1:] != t[:-1]
        return self.take(order[keep]), int((~keep).sum())


def as_epoch(value: datetime) -> float:
    """Seconds since the epoch; a time without a zone is UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def check_count(count: int, max_fixes: int, field: str) -> None:
    """Refuse more than ``max_fixes`` fixes (PayloadTooLarge naming ``field``)."""
    if count > max_fixes:
        raise PayloadTooLarge(
            f"more than {max_fixes:,} GPS fixes in one patrol (WANGGE_PATROL_MAX_FIXES)",
            field=field,
        )


def from_points(
    points: Sequence[Mapping[str, Any]],
    *,
    crs: str = "wgs84",
    max_fixes: int,
    field: str = "points",
) -> Fixes:
    """JSON points ``{lon, lat, t, accuracy_m?, ele_m?}`` in ``crs`` (wgs84, gcj02, bd09,
    EPSG:n) as WGS-84 fixes. ``t`` is a ``datetime`` (or seconds since the epoch). Refuses the
    whole list, naming the first bad point's field, for a missing or unconvertible coordinate
    or time, or an accuracy below 0."""
    check_count(len(points), max_fixes, field)
    spec = parse_crs(crs)
    n = len(points)
    lon = np.empty(n)
    lat = np.empty(n)
    t = np.empty(n)
    acc = np.full(n, np.nan)
    ele = np.full(n, np.nan)
    for i, p in enumerate(points):
        value = p.get("t")
        if isinstance(value, datetime):
            t[i] = as_epoch(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            t[i] = float(value)
        else:
            raise InvalidInput("a time is needed (ISO 8601)", field=f"{field}[{i}].t")
        lon[i] = p["lon"]
        lat[i] = p["lat"]
        a = p.get("accuracy_m")
        if a is not None:
            if not a >= 0:
                raise InvalidInput("accuracy must be ≥ 0 m", field=f"{field}[{i}].accuracy_m")
            acc[i] = a
        e = p.get("ele_m")
        if e is not None:
            ele[i] = e
    x, y, reasons = points_to_wgs84(lon=lon, lat=lat, crs=spec)
    for i, reason in enumerate(reasons):
        if reason is not None:
            name, _, why = reason.partition(": ")
            raise InvalidInput(why, field=f"{field}[{i}].{name}")
    if n and not np.isfinite(t).all():
        i = int(np.flatnonzero(~np.isfinite(t))[0])
        raise InvalidInput("not a finite time", field=f"{field}[{i}].t")
    return Fixes(t, x, y, acc, ele)
