"""Batches of points: parsing (JSON points list or GeoJSON), per-item validation, answers in
input order. Bad items get an ``error`` while the rest are answered; nothing is dropped."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gis.assign.service import (
    Assigner,
    LevelIndex,
    Located,
    answer,
    check_max_distance,
    limit_to_scope,
    locate,
)
from gis.crs import parse_crs, points_to_wgs84
from gis.errors import InvalidInput, PayloadTooLarge


@dataclass
class PointBatch:
    """Points to assign: ids, WGS-84 coordinates (converted from the input ``crs``), and a
    reason per unusable item."""

    ids: list[Any]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    errors: list[str | None]
    crs: str = "wgs84"
    level: str | None = None
    max_distance_m: float | None = None
    detail: str = "compact"


DETAILS = ("compact", "full")


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
            f"{len(items)} points; at most {max_points} per request (WANGGE_BATCH_MAX_POINTS)",
            field=key,
            limit=max_points,
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
    crs = body.get("crs", "wgs84")
    if not isinstance(crs, str):
        raise InvalidInput("must be a string such as wgs84, gcj02, bd09 or EPSG:4490", field="crs")
    spec = parse_crs(crs)
    lon, lat, errors = points_to_wgs84(lon=lon, lat=lat, crs=spec, errors=errors)
    level = body.get("level")
    if level is not None and not isinstance(level, str):
        raise InvalidInput("must be a level name", field="level")
    max_distance = body.get("max_distance_m")
    if max_distance is not None:
        try:
            max_distance = _number(max_distance)
        except TypeError:
            raise InvalidInput("must be a number of metres", field="max_distance_m") from None
        check_max_distance(max_distance)
    detail = body.get("detail", "compact")
    if detail not in DETAILS:
        raise InvalidInput(f"must be one of {', '.join(DETAILS)}", field="detail")
    return PointBatch(
        ids,
        lon,
        lat,
        errors,
        crs=spec.name,
        level=level,
        max_distance_m=max_distance,
        detail=detail,
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


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small result dicts (none of
    them cyclic); otherwise repeated full collections walk the growing list."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def assign_batch(
    assigner: Assigner,
    batch: PointBatch,
    *,
    generation: int | None = None,
    as_of: Any = None,
    within: str | None = None,
) -> dict[str, Any]:
    """Answers for every point in input order: ``{generation, level, results: […]}``.

    ``compact`` results name areas by code (``owner``, ``also_covered_by``, ``nearest``) and
    the top-level ``areas`` map gives each named area's name, level and ancestor chain once;
    ``full`` results repeat the single-point shape (owner object and chain) in every item.
    Only areas at or below ``within`` are answered, if given (an API key's scope).
    """
    number = assigner.resolve(generation=generation, as_of=as_of)
    level_index = assigner.index(generation=number, level=batch.level)
    found = locate(
        level_index,
        lon=batch.lon,
        lat=batch.lat,
        errors=batch.errors,
        max_distance_m=batch.max_distance_m,
    )
    found = limit_to_scope(level_index, found, within)
    build = _full_results if batch.detail == "full" else _compact_results
    with gc_paused():
        results, used = build(level_index, found, batch)
    out: dict[str, Any] = {
        "generation": number,
        "level": level_index.level,
        "detail": batch.detail,
        "count": len(results),
        "errors": sum(e is not None for e in batch.errors),
        "results": results,
    }
    if batch.detail != "full":
        refs, chains = level_index.refs, level_index.chains
        out["areas"] = {
            refs[j].code: {
                "name": refs[j].name,
                "level": refs[j].level,
                "chain": [r.code for r in chains[j]],
            }
            for j in sorted(used)
        }
    if level_index.note:
        out["note"] = level_index.note
    return out


def _compact_results(
    level_index: LevelIndex, found: Located, batch: PointBatch
) -> tuple[list[dict[str, Any]], set[int]]:
    codes = level_index.index.codes
    owner, indptr, indices = found.owner, found.indptr, found.indices
    near, dist = found.nearest, found.distance_m
    used: set[int] = set()
    results: list[dict[str, Any]] = []
    for i, ident in enumerate(batch.ids):
        error = batch.errors[i]
        if error is not None:
            results.append({"id": ident, "error": error})
            continue
        o, start, end = owner[i], indptr[i], indptr[i + 1]
        also = indices[start + 1 : end] if end - start > 1 else []
        item: dict[str, Any] = {
            "id": ident,
            "owner": codes[o] if o >= 0 else None,
            "also_covered_by": [codes[j] for j in also],
            "nearest": None,
        }
        if o >= 0:
            used.add(o)
            used.update(also)
        elif near[i] >= 0:
            item["nearest"] = {"code": codes[near[i]], "distance_m": round(dist[i], 2)}
            used.add(near[i])
        results.append(item)
    return results, used


def _full_results(
    level_index: LevelIndex, found: Located, batch: PointBatch
) -> tuple[list[dict[str, Any]], set[int]]:
    results: list[dict[str, Any]] = []
    for i, ident in enumerate(batch.ids):
        error = batch.errors[i]
        results.append(
            {"id": ident, "error": error}
            if error is not None
            else {"id": ident, **answer(level_index, found, i)}
        )
    return results, set()
