"""Batches of points: parsing (JSON points list or GeoJSON), per-item validation, answers in
input order. Bad items get an ``error`` while the rest are answered; nothing is dropped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gis.assign.service import Assigner, answer, check_coordinates
from gis.crs import parse_crs, to_wgs84
from gis.errors import InvalidInput, PayloadTooLarge


@dataclass
class PointBatch:
    """Points to assign: ids, coordinates (in ``crs``), and a reason per unusable item."""

    ids: list[Any]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    errors: list[str | None]
    crs: str = "wgs84"
    level: str | None = None
    max_distance_m: float | None = None


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError
    return float(value)


def parse_batch(body: Any, *, max_points: int) -> PointBatch:
    """Parse ``{"points": [{"id", "lon", "lat"}…], "crs", "level"}`` or a GeoJSON
    FeatureCollection of points (``id`` from the feature's ``id`` or ``properties.id``)."""
    if not isinstance(body, dict):
        raise InvalidInput(
            "expected a JSON object with 'points', or a FeatureCollection", field="body"
        )
    is_geojson = body.get("type") == "FeatureCollection"
    items = body.get("features" if is_geojson else "points")
    key = "features" if is_geojson else "points"
    if not isinstance(items, list):
        raise InvalidInput(f"'{key}' must be a list", field=key)
    if not items:
        raise InvalidInput(f"'{key}' is empty", field=key)
    if len(items) > max_points:
        raise PayloadTooLarge(
            f"{len(items)} points; at most {max_points} per request", field=key, limit=max_points
        )
    n = len(items)
    ids: list[Any] = [None] * n
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    errors: list[str | None] = [None] * n
    for i, item in enumerate(items):
        try:
            if is_geojson:
                ids[i] = feature_id(item, i)
                lon[i], lat[i] = _feature_point(item)
            else:
                ids[i] = item.get("id", i) if isinstance(item, dict) else i
                lon[i] = _number(item["lon"])
                lat[i] = _number(item["lat"])
        except (KeyError, TypeError, AttributeError) as exc:
            errors[i] = _item_error(item, exc, is_geojson)
    for i, reason in enumerate(check_coordinates(lon, lat)):
        if reason is not None and errors[i] is None:
            errors[i] = reason
    crs = body.get("crs", "wgs84")
    if not isinstance(crs, str):
        raise InvalidInput("must be a string such as wgs84, gcj02, bd09 or EPSG:4490", field="crs")
    level = body.get("level")
    if level is not None and not isinstance(level, str):
        raise InvalidInput("must be a level name", field="level")
    max_distance = body.get("max_distance_m")
    if max_distance is not None:
        try:
            max_distance = _number(max_distance)
        except TypeError:
            raise InvalidInput("must be a number of metres", field="max_distance_m") from None
        if not max_distance >= 0:
            raise InvalidInput("must be ≥ 0", field="max_distance_m")
    return PointBatch(
        ids, lon, lat, errors, crs=parse_crs(crs).name, level=level, max_distance_m=max_distance
    )


def feature_id(item: Any, i: int) -> Any:
    if not isinstance(item, dict):
        return i
    properties = item.get("properties")
    fallback = properties.get("id", i) if isinstance(properties, dict) else i
    return item.get("id", fallback)


def _feature_point(item: Any) -> tuple[float, float]:
    geometry = item["geometry"]
    if geometry.get("type") != "Point":
        raise TypeError("geometry: not a Point")
    x, y = geometry["coordinates"][:2]
    return _number(x), _number(y)


def _item_error(item: Any, exc: Exception, is_geojson: bool) -> str:
    if not isinstance(item, dict):
        return "item: not a JSON object"
    if is_geojson:
        if str(exc).startswith("geometry"):
            return str(exc)
        return "geometry: missing or not a Point with numeric coordinates"
    for name in ("lon", "lat"):
        if name not in item:
            return f"{name}: missing"
        try:
            _number(item[name])
        except TypeError:
            return f"{name}: not a number"
    return "item: malformed"


def assign_batch(
    assigner: Assigner, batch: PointBatch, *, generation: int | None = None, as_of: Any = None
) -> dict[str, Any]:
    """Answers for every point in input order: ``{generation, level, results: […]}``."""
    number = assigner.resolve(generation=generation, as_of=as_of)
    level_index = assigner.index(generation=number, level=batch.level)
    ok = np.array([e is None for e in batch.errors], dtype=bool)
    lon = batch.lon.copy()
    lat = batch.lat.copy()
    if batch.crs != "wgs84" and ok.any():
        lon[ok], lat[ok] = to_wgs84(lon=lon[ok], lat=lat[ok], crs=parse_crs(batch.crs))
    lon[~ok] = np.nan
    lat[~ok] = np.nan
    index = level_index.index
    lookup = index.lookup(lon=lon, lat=lat)
    uncovered = np.flatnonzero(ok & (lookup.owner < 0))
    nearest_idx = np.full(len(lon), -1, np.int32)
    nearest_d = np.full(len(lon), np.nan)
    if uncovered.size:
        idx, dist = index.nearest(
            lon=lon[uncovered], lat=lat[uncovered], max_distance_m=batch.max_distance_m
        )
        nearest_idx[uncovered] = idx
        nearest_d[uncovered] = dist
    results: list[dict[str, Any]] = []
    for i, ident in enumerate(batch.ids):
        if batch.errors[i] is not None:
            results.append({"id": ident, "error": batch.errors[i]})
            continue
        results.append(
            {
                "id": ident,
                **answer(
                    level_index, lookup, i, nearest=(int(nearest_idx[i]), float(nearest_d[i]))
                ),
            }
        )
    out: dict[str, Any] = {
        "generation": number,
        "level": level_index.level,
        "count": len(results),
        "errors": int(sum(e is not None for e in batch.errors)),
        "results": results,
    }
    if level_index.note:
        out["note"] = level_index.note
    return out
