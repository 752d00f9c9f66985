"""Turning a boundary file into validated area features (no database access)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely

from gis.areas.export import unescape_attribute
from gis.errors import InvalidInput
from gis.vector import (
    POLYGONAL,
    FileRejected,
    Problem,
    Repair,
    attribute_records,
    check_geometry_kind,
    geodesic_area_m2,
    polygonal_geometries,
    preview,
    read_codes,
    read_vector,
    require_columns,
    text_value,
)


@dataclass(frozen=True)
class AreaFeature:
    """One area as read from a file: WGS-84 MultiPolygon, plain-JSON attributes."""

    index: int
    code: str
    name: str | None
    parent_code: str | None
    geom: shapely.MultiPolygon
    area_m2: float
    attributes: dict[str, Any]


@dataclass
class AreaFile:
    """A validated boundary file: its features, the repairs made, the CRS it was read in."""

    path: Path
    crs: str
    features: list[AreaFeature]
    repairs: list[Repair] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_area_file(
    path: Path,
    *,
    code_field: str,
    name_field: str,
    parent_field: str | None = None,
    crs: str | None = None,
    layer: str | None = None,
) -> AreaFile:
    """Read and validate a boundary file; raise FileRejected listing every bad feature.

    Invalid polygons are repaired (``make_valid``, polygonal parts kept) and reported; empty
    geometries, non-polygons, missing or duplicate codes and missing names are errors.
    """
    frame = read_vector(path, crs=crs, layer=layer)
    if len(frame.data) == 0:
        raise InvalidInput(f"{path}: the file has no features", field="file")
    require_columns(
        frame,
        {"--code-field": code_field, "--name-field": name_field, "--parent-field": parent_field},
    )
    check_geometry_kind(frame, POLYGONAL, "area boundaries")
    data = frame.data
    problems = list(frame.problems)
    codes = read_codes(data, code_field, problems)
    names = [text_value(v) for v in data[name_field]]
    parents = [text_value(v) for v in data[parent_field]] if parent_field else [None] * len(data)
    for i, code in enumerate(codes):
        if parents[i] is not None and parents[i] == code:
            problems.append(Problem(i, parent_field, "an area cannot be its own parent", code))
    geoms, repairs = polygonal_geometries(frame, codes, problems)
    if problems:
        problems.sort(key=lambda p: -1 if p.feature is None else p.feature)
        raise FileRejected(path, problems)
    skip = {code_field, name_field, parent_field, data.geometry.name}
    reserved = tuple(f for f in (code_field, name_field, parent_field) if f)
    attributes = [
        {unescape_attribute(k, reserved): v for k, v in record.items()}
        for record in attribute_records(data, skip)
    ]
    features = []
    for i, geom in enumerate(geoms):
        assert geom is not None and codes[i] is not None
        features.append(
            AreaFeature(
                i, str(codes[i]), names[i], parents[i], geom, geodesic_area_m2(geom), attributes[i]
            )
        )
    unnamed = [f"features[{f.index}] (code {f.code!r})" for f in features if f.name is None]
    warnings = (
        [
            f"{len(unnamed)} feature(s) have no {name_field!r}; stored without a name: "
            + preview(unnamed)
        ]
        if unnamed
        else []
    )
    return AreaFile(path=path, crs=frame.crs, features=features, repairs=repairs, warnings=warnings)
