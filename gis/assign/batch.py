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

from gis.access import EVERYWHERE, Scope
from gis.assign.service import (
    Assigner,
    LevelIndex,
    Located,
    answer,
    check_max_distance,
    limit_to_scope,
    locate,
)
from gis.crs import geojson_crs, points_to_wgs84
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
    errors: list[str | None] = [None] * n
    fast = None if is_geojson else _well_formed_points(items)
    if fast is not None:
        ids, lon, lat = fast
    else:
        ids, lon, lat = _points_one_by_one(items, is_geojson, errors)
    spec = geojson_crs(body.get("crs", "wgs84"))  # a string, or a named-CRS object
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


def _well_formed_points(
    items: list[Any],
) -> tuple[list[Any], NDArray[np.float64], NDArray[np.float64]] | None:
    """``(ids, lon, lat)`` when every item is an object with numeric ``lon`` and ``lat`` (the
    usual batch, read with list comprehensions), else None: then each item is read on its own
    and the bad ones get their own error."""
    try:
        lon = [item["lon"] for item in items]
        lat = [item["lat"] for item in items]
    except (KeyError, TypeError):
        return None
    numbers = (float, int)  # not bool: type(True) is bool
    if not all(type(v) in numbers for v in lon) or not all(type(v) in numbers for v in lat):
        return None
    ids = [item.get("id", i) for i, item in enumerate(items)]
    return ids, np.array(lon, np.float64), np.array(lat, np.float64)


def _points_one_by_one(
    items: list[Any], is_geojson: bool, errors: list[str | None]
) -> tuple[list[Any], NDArray[np.float64], NDArray[np.float64]]:
    """``(ids, lon, lat)`` item by item; a bad item gets NaN and its reason in ``errors``."""
    n = len(items)
    ids: list[Any] = [None] * n
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
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
    return ids, lon, lat


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


@gc_paused()  # many small result objects, none of them cyclic
def assign_batch(
    assigner: Assigner,
    batch: PointBatch,
    *,
    generation: int | None = None,
    as_of: Any = None,
    scope: Scope = EVERYWHERE,
) -> dict[str, Any]:
    """Answers for every point in input order: ``{generation, level, results: […]}``.

    ``compact`` results name areas by code (``owner``, ``also_covered_by``, ``nearest``) and
    the top-level ``areas`` map gives each named area's name, level and ancestor chain once;
    ``full`` results repeat the single-point shape (owner object and chain) in every item.
    Only areas in the caller's ``scope`` are answered.
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
    found = limit_to_scope(level_index, found, scope)
    build = _full_results if batch.detail == "full" else _compact_results
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
    results: list[dict[str, Any]] = []
    append = results.append
    for i, (ident, error, o) in enumerate(zip(batch.ids, batch.errors, owner, strict=True)):
        if error is not None:
            append({"id": ident, "error": error})
        elif o >= 0:
            start, end = indptr[i], indptr[i + 1]
            also = [codes[j] for j in indices[start + 1 : end]] if end - start > 1 else []
            append({"id": ident, "owner": codes[o], "also_covered_by": also, "nearest": None})
        elif near[i] >= 0:
            nearest = {"code": codes[near[i]], "distance_m": round(dist[i], 2)}
            append({"id": ident, "owner": None, "also_covered_by": [], "nearest": nearest})
        else:
            append({"id": ident, "owner": None, "also_covered_by": [], "nearest": None})
    # every area named above: owners, coverers and nearest areas (-1: none)
    used = set(owner) | set(indices) | set(near)
    used.discard(-1)
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
