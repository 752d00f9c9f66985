"""Buildings → the micro-grid holding the largest share of each footprint."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from gis.assign.batch import feature_id
from gis.assign.service import Assigner, positions_within, share_value
from gis.crs import geometry_to_wgs84, parse_crs
from gis.errors import InvalidInput, PayloadTooLarge
from gis.limits import MAX_POLYGON_VERTICES, vertex_problem


def assign_buildings(
    assigner: Assigner,
    body: Any,
    *,
    generation: int | None = None,
    as_of: Any = None,
    max_features: int = 100_000,
    within: str | None = None,
    max_vertices: int = MAX_POLYGON_VERTICES,
) -> dict[str, Any]:
    """Owner (largest share) and every share for each polygon of a FeatureCollection.

    Bad features (missing, non-polygonal or invalid geometry) get ``error``; the rest are
    answered, in input order. Only areas at or below ``within`` count, if given. A feature
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
    crs = body.get("crs", "wgs84")
    if not isinstance(crs, str):
        raise InvalidInput("must be a string such as wgs84, gcj02, bd09 or EPSG:4490", field="crs")
    spec = parse_crs(crs)
    level = body.get("level")
    number = assigner.resolve(generation=generation, as_of=as_of)
    level_index = assigner.index(generation=number, level=level)
    ids: list[Any] = []
    geoms: list[Any] = []
    errors: list[str | None] = []
    for i, feature in enumerate(features):
        ids.append(feature_id(feature, i))
        try:
            geom = shapely.geometry.shape(feature["geometry"])
        except (KeyError, TypeError, AttributeError, ValueError, shapely.errors.GEOSException):
            geoms.append(None)
            errors.append("geometry: missing or not GeoJSON")
            continue
        reason = vertex_problem(shapely.get_num_coordinates(geom), maximum=max_vertices)
        if reason is not None:
            raise PayloadTooLarge(reason, field=f"features[{i}].geometry", limit=max_vertices)
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
            geoms.append(None)
            errors.append(f"geometry: {geom.geom_type} is not a non-empty polygon")
        elif not geom.is_valid:
            geoms.append(None)
            errors.append(f"geometry: invalid ({shapely.is_valid_reason(geom)})")
        else:
            geoms.append(geom)
            errors.append(None)
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
    if within is not None:
        allowed = positions_within(level_index, within)
        shares = [[(j, share) for j, share in item if j in allowed] for item in shares]
    by_position = dict(zip(good, shares, strict=True))
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
    return {
        "generation": number,
        "level": level_index.level,
        "count": len(results),
        "results": results,
    }


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
