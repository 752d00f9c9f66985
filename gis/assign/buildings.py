"""Buildings → the micro-grid holding the largest share of each footprint."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import shapely
from numpy.typing import NDArray

from gis.access import EVERYWHERE, Scope
from gis.assign.batch import feature_id, gc_paused
from gis.assign.service import Assigner, LevelIndex, positions_within, share_value
from gis.crs import geojson_crs, geometry_to_wgs84
from gis.errors import InvalidInput, PayloadTooLarge
from gis.limits import MAX_POLYGON_VERTICES, vertex_problem


@gc_paused()  # the parsed body is millions of objects: collections would walk them all
def assign_buildings(
    assigner: Assigner,
    body: Any,
    *,
    generation: int | None = None,
    as_of: Any = None,
    max_features: int = 100_000,
    scope: Scope = EVERYWHERE,
    max_vertices: int = MAX_POLYGON_VERTICES,
) -> dict[str, Any]:
    """Owner (largest share) and every share for each polygon of a FeatureCollection.

    Bad features (missing, non-polygonal or invalid geometry) get ``error``; the rest are
    answered, in input order. Only areas in the caller's ``scope`` count. A feature
    over ``max_vertices`` vertices refuses the whole request (PayloadTooLarge, like too many
    features): it is a limit, not bad data.
    """
    if not isinstance(body, dict) or body.get("type") != "FeatureCollection":
        raise InvalidInput("expected a GeoJSON FeatureCollection of polygons", field="body")
    features = body.get("features")
    if not isinstance(features, list) or not features:
        raise InvalidInput("'features' must be a non-empty list", field="features")
    if len(features) > max_features:
        raise PayloadTooLarge(
            f"{len(features)} features; at most {max_features} (WANGGE_BATCH_MAX_POINTS)",
            field="features",
            limit=max_features,
        )
    spec = geojson_crs(body.get("crs", "wgs84"))  # a string, or a named-CRS object
    level = body.get("level")
    number = assigner.resolve(generation=generation, as_of=as_of)
    level_index = assigner.index(generation=number, level=level)
    ids = [feature_id(feature, i) for i, feature in enumerate(features)]
    geoms = _read_geometries(features)
    errors = _check_geometries(geoms, max_vertices)
    good = [i for i, e in enumerate(errors) if e is None]
    arr = np.empty(len(good), dtype=object)
    arr[:] = [geoms[i] for i in good]
    if spec.name != "wgs84" and len(good):
        arr = np.asarray(geometry_to_wgs84(arr, spec), dtype=object)
    outside = _outside_lon_lat(arr, spec.name)
    if outside:
        for position, reason in outside.items():
            errors[good[position]] = reason
        keep = [p for p in range(len(good)) if p not in outside]
        good = [good[p] for p in keep]
        arr = arr[keep] if keep else np.empty(0, dtype=object)
    shares = level_index.index.polygon_shares(list(arr))
    results = _results(level_index, ids, errors, dict(zip(good, shares, strict=True)), scope)
    return {
        "generation": number,
        "level": level_index.level,
        "count": len(results),
        "results": results,
    }


def _read_geometries(features: list[Any]) -> NDArray[np.object_]:
    """Each feature's geometry (None where missing or not GeoJSON). Well-formed polygons
    (the usual footprint) are built straight from their coordinates; the rest go through the
    GEOS GeoJSON reader, and what it refuses through ``shapely.geometry.shape``, which is
    more lenient (it closes an unclosed ring, as the API always has)."""
    geoms: NDArray[np.object_] = np.full(len(features), None, dtype=object)
    positions, polygons = _simple_polygons(features)
    geoms[positions] = polygons
    done = np.zeros(len(features), bool)
    done[positions] = True
    rest = np.flatnonzero(~done).tolist()
    texts: list[bytes | None] = []
    for i in rest:
        feature = features[i]
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        texts.append(orjson.dumps(geometry) if isinstance(geometry, dict) else None)
    read = shapely.from_geojson(np.array(texts, dtype=object), on_invalid="ignore")
    for i, text, geom in zip(rest, texts, read.tolist(), strict=True):
        if geom is None and text is not None:
            try:
                geom = shapely.geometry.shape(features[i]["geometry"])
            except (KeyError, TypeError, AttributeError, ValueError, shapely.errors.GEOSException):
                geom = None
        geoms[i] = geom
    return geoms


def _simple_polygons(features: list[Any]) -> tuple[list[int], NDArray[np.object_]]:
    """Positions and geometries of the features that are plain 2-D Polygons with closed
    rings of at least four points, built from one coordinate array (``from_ragged_array``);
    any other feature is left for the general reader."""
    positions: list[int] = []
    flat: list[Any] = []
    ring_ends: list[int] = []
    poly_ends: list[int] = []
    for i, feature in enumerate(features):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
            continue
        rings = geometry.get("coordinates")
        if not isinstance(rings, list) or not rings:
            continue
        if not all(isinstance(r, list) and len(r) >= 4 and r[0] == r[-1] for r in rings):
            continue
        for ring in rings:
            flat.extend(ring)
            ring_ends.append(len(flat))
        poly_ends.append(len(ring_ends))
        positions.append(i)
    none: tuple[list[int], NDArray[np.object_]] = ([], np.empty(0, dtype=object))
    if not positions:
        return none
    try:
        coords = np.array(flat, dtype=np.float64)
    except (TypeError, ValueError):  # a point that is not two numbers: read one by one
        return none
    if coords.ndim != 2 or coords.shape[1] != 2 or not np.isfinite(coords).all():
        return none  # NaN, infinities: the general reader names the problem
    offsets = (np.array([0, *ring_ends], np.int64), np.array([0, *poly_ends], np.int64))
    try:
        polygons: NDArray[np.object_] = shapely.from_ragged_array(
            shapely.GeometryType.POLYGON, coords, offsets
        )
    except shapely.errors.GEOSException:
        return none
    return positions, polygons


def _check_geometries(geoms: NDArray[np.object_], max_vertices: int) -> list[str | None]:
    """A reason per unusable geometry (None where usable); a geometry over ``max_vertices``
    refuses the whole request."""
    missing = shapely.is_missing(geoms)
    n_coords = shapely.get_num_coordinates(geoms)
    for i in np.flatnonzero(n_coords > max_vertices)[:1].tolist():
        reason = vertex_problem(int(n_coords[i]), maximum=max_vertices)
        if reason is not None:
            raise PayloadTooLarge(reason, field=f"features[{i}].geometry", limit=max_vertices)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))  # Polygon, MultiPolygon
    usable = ~missing & polygonal & ~shapely.is_empty(geoms)
    valid = np.zeros(len(geoms), bool)
    valid[usable] = shapely.is_valid(geoms[usable])
    errors: list[str | None] = [None] * len(geoms)
    for i in np.flatnonzero(~valid).tolist():
        g = geoms[i]
        if g is None:
            errors[i] = "geometry: missing or not GeoJSON"
        elif not usable[i]:
            errors[i] = f"geometry: {g.geom_type} is not a non-empty polygon"
        else:
            errors[i] = f"geometry: invalid ({shapely.is_valid_reason(g)})"
    return errors


def _results(
    level_index: LevelIndex,
    ids: list[Any],
    errors: list[str | None],
    by_position: dict[int, list[tuple[int, float]]],
    scope: Scope,
) -> list[dict[str, Any]]:
    if scope.area is not None:
        allowed = positions_within(level_index, scope)
        by_position = {
            i: [(j, share) for j, share in item if j in allowed] for i, item in by_position.items()
        }
    refs = level_index.ref_json
    results: list[dict[str, Any]] = []
    for i, ident in enumerate(ids):
        if errors[i] is not None:
            results.append({"id": ident, "error": errors[i]})
            continue
        item_shares = [{**refs[j], "share": share_value(s)} for j, s in by_position[i]]
        results.append(
            {
                "id": ident,
                "owner": refs[by_position[i][0][0]] if by_position[i] else None,
                "shares": item_shares,
                "split": len(item_shares) > 1,
            }
        )
    return results


def _outside_lon_lat(geoms: np.ndarray, crs: str) -> dict[int, str]:
    """Positions of geometries whose WGS-84 coordinates leave lon/lat range (e.g. metres sent
    as ``wgs84``), or that the CRS could not convert, with the reason."""
    if not len(geoms):
        return {}
    bounds = shapely.bounds(geoms)
    finite = np.isfinite(bounds).all(axis=1)
    in_range = (
        finite
        & (bounds[:, 0] >= -180)
        & (bounds[:, 2] <= 180)
        & (bounds[:, 1] >= -90)
        & (bounds[:, 3] <= 90)
    )
    after = "" if crs == "wgs84" else f" after conversion from {crs}"
    return {
        int(p): (
            f"geometry: coordinates outside lon -180..180 / lat -90..90{after}"
            if finite[p]
            else f"geometry: cannot be converted from {crs}"
        )
        for p in np.flatnonzero(~in_range)
    }
