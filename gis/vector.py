"""Reading vector files (GeoJSON, GeoPackage, Shapefile, zipped Shapefile, CSV) and turning
their rows into plain, JSON-safe Python values, with errors that name the file and feature."""

from __future__ import annotations

import contextlib
import json
import math
import warnings
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyogrio
import shapely
from geopandas import GeoDataFrame
from pyproj import Geod

from gis.archives import check_archive
from gis.crs import CrsSpec, geometry_to_wgs84, parse_crs
from gis.errors import InvalidInput, PayloadTooLarge
from gis.limits import FileLimits, vertex_limit, vertex_problem
from gis.settings import Settings

GEOD = Geod(ellps="WGS84")
POLYGONAL = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one feature (or the whole file when ``feature`` is None)."""

    feature: int | None
    field: str | None
    reason: str
    code: str | None = None

    def __str__(self) -> str:
        where = "file" if self.feature is None else f"features[{self.feature}]"
        if self.code is not None:
            where += f" (code {self.code!r})"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.reason}"


class FileRejected(InvalidInput):
    """A file failed validation; ``problems`` lists every feature-level reason in file order."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(
            f"{path}: {len(problems)} problem(s); nothing was written\n{lines}{more}",
            field=problems[0].field or "file",
            problems=[str(p) for p in problems],
        )


@dataclass
class Repair:
    """An invalid geometry that was repaired with ``make_valid`` (kept polygonal parts)."""

    feature: int
    code: str
    problem: str
    area_change_m2: float

    def __str__(self) -> str:
        return (
            f"features[{self.feature}] (code {self.code!r}): {self.problem}; repaired, "
            f"area change {self.area_change_m2:+.1f} m²"
        )


@dataclass
class Frame:
    """A vector file read into memory, geometry converted to WGS-84."""

    path: Path
    data: GeoDataFrame
    crs: str
    problems: list[Problem] = field(default_factory=list)


def _vsi_path(path: Path) -> str:
    if path.suffix.lower() == ".zip":
        return f"/vsizip/{path}"
    return str(path)


def read_vector(
    path: Path,
    *,
    crs: str | None = None,
    layer: str | None = None,
    geometry: bool = True,
    limits: FileLimits | None = None,
) -> Frame:
    """Read a GeoJSON / GPKG / Shapefile (also .zip) / CSV; convert geometry to WGS-84.

    ``crs`` (wgs84, gcj02, bd09, EPSG:n) overrides the file's own CRS. A file without a CRS
    is taken as WGS-84 only if it is GeoJSON (which is WGS-84 by definition). A zip archive
    and the vertices per feature are checked against ``limits`` (default: the settings).
    """
    spec = parse_crs(crs, field="crs") if crs else None
    if not path.exists():
        raise InvalidInput(f"{path}: no such file", field="file")
    limits = limits or FileLimits.from_settings(Settings())
    if path.suffix.lower() == ".zip" or (path.is_file() and zipfile.is_zipfile(path)):
        check_archive(path, limits)
    try:
        with warnings.catch_warnings():
            # a column of mixed JSON types (e.g. 10 and "many") is read as text; the values
            # are validated field by field afterwards, with the feature named
            warnings.filterwarnings("ignore", message="Could not parse column .* as JSON")
            data = pyogrio.read_dataframe(_vsi_path(path), layer=layer, read_geometry=geometry)
    except Exception as exc:  # pyogrio raises several DataSourceError types and GDAL errors
        if "too complex/large" in str(exc):
            # GDAL's own guard on one GeoJSON object's parsed size (OGR_GEOJSON_MAX_OBJ_SIZE)
            # stops a feature of millions of vertices before wangge can count them
            raise PayloadTooLarge(
                f"{path}: a feature is too large to read; "
                + vertex_limit(limits.max_polygon_vertices),
                field="geometry",
                limit=limits.max_polygon_vertices,
            ) from exc
        raise InvalidInput(f"{path}: cannot read as a vector file: {exc}", field="file") from exc
    for column in _json_columns(path, layer):
        if column in data:
            data[column] = [json.loads(v) if isinstance(v, str) else v for v in data[column]]
    if not geometry:
        return Frame(path=path, data=GeoDataFrame(data), crs="none")
    if not isinstance(data, GeoDataFrame) or data.geometry.name not in data:
        raise InvalidInput(f"{path}: the file has no geometry column", field="file")
    if spec is None:
        spec = _file_crs(path, data)
    geoms = np.asarray(data.geometry.values, dtype=object)
    present = ~shapely.is_missing(geoms)
    _check_vertices(path, geoms, limits.max_polygon_vertices)
    geoms = shapely.force_2d(geoms)
    if spec.name != "wgs84":
        geoms[present] = geometry_to_wgs84(geoms[present], spec)
    data = data.set_geometry(geoms, crs="EPSG:4326")
    frame = Frame(path=path, data=data, crs=spec.name)
    bounds = shapely.bounds(geoms[present]) if present.any() else np.empty((0, 4))
    bad = np.where(
        ~(
            (bounds[:, 0] >= -180)
            & (bounds[:, 2] <= 180)
            & (bounds[:, 1] >= -90)
            & (bounds[:, 3] <= 90)
        )
    )[0]
    present_idx = np.where(present)[0]
    for i in bad:
        frame.problems.append(
            Problem(
                int(present_idx[i]),
                "geometry",
                "coordinates outside lon -180..180 / lat -90..90 after "
                f"reading as {spec.name}; is --crs right?",
            )
        )
    return frame


def _check_vertices(path: Path, geoms: npt.NDArray[np.object_], maximum: int) -> None:
    """Refuse the file if a feature has more than ``maximum`` vertices, before the costly
    validation and reprojection of such a geometry."""
    counts = shapely.get_num_coordinates(geoms)
    over = np.flatnonzero(counts > maximum)
    if len(over):
        first = int(over[0])
        reason = vertex_problem(int(counts[first]), maximum=maximum)
        raise PayloadTooLarge(
            f"{path}: features[{first}] has {reason}", field="geometry", limit=maximum
        )


def _file_crs(path: Path, data: GeoDataFrame) -> CrsSpec:
    if data.crs is None:
        if path.suffix.lower() in {".geojson", ".json"}:
            return parse_crs("wgs84")
        raise InvalidInput(
            f"{path}: the file declares no CRS; pass --crs (wgs84, gcj02, bd09 or EPSG:n)",
            field="crs",
        )
    epsg = data.crs.to_epsg()
    return parse_crs(f"EPSG:{epsg}" if epsg else "wgs84") if epsg else _wkt_crs(data)


def _wkt_crs(data: GeoDataFrame) -> CrsSpec:
    from pyproj import CRS

    match = CRS(data.crs).to_epsg(min_confidence=20)
    if match is None:
        raise InvalidInput("the file's CRS has no EPSG equivalent; pass --crs", field="crs")
    return parse_crs(f"EPSG:{match}")


def declare_json_columns(path: Path, layer: str, columns: list[str]) -> None:
    """Mark GeoPackage text ``columns`` as JSON (GeoPackage schema extension)."""
    import sqlite3

    if not columns:
        return
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, "
            "column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT, "
            "mime_type TEXT, constraint_name TEXT, "
            "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name))"
        )
        db.executemany(
            "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, "
            "mime_type) VALUES (?, ?, 'application/json')",
            [(layer, c) for c in columns],
        )


def _json_columns(path: Path, layer: str | None) -> set[str]:
    """Columns a GeoPackage declares as JSON (empty for other formats)."""
    import sqlite3

    if path.suffix.lower() != ".gpkg":
        return set()
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT table_name, column_name FROM gpkg_data_columns "
                "WHERE mime_type = 'application/json'"
            ).fetchall()
    except sqlite3.Error:
        return set()
    return {column for table, column in rows if layer is None or table == layer}


def plain(value: Any) -> Any:
    """A JSON-safe Python value for a cell read by pyogrio; None for missing (NaN/None/NaT)."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return None if str(value) == "NaT" else value.isoformat()
    return str(value)


def text_value(value: Any) -> str | None:
    """A cell as stripped text (integers without '.0'); None when missing or blank."""
    value = plain(value)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def preview(items: Sequence[str], limit: int = 10) -> str:
    """The first ``limit`` items joined with commas, and how many more there are."""
    shown = ", ".join(items[:limit])
    return shown + (f" … (+{len(items) - limit})" if len(items) > limit else "")


def attribute_records(data: Any, skip: set[str]) -> list[dict[str, Any]]:
    """Per row, every column not in ``skip`` as a JSON-safe value, missing values left out."""
    columns = [c for c in data.columns if c not in skip]
    rows = data[columns].to_dict("records") if columns else [{} for _ in range(len(data))]
    return [{str(k): v for k, raw in row.items() if (v := plain(raw)) is not None} for row in rows]


def read_codes(data: Any, column: str, problems: list[Problem]) -> list[str | None]:
    """The ``column`` of codes as text; appends a Problem per missing or duplicate code."""
    codes = [text_value(v) for v in data[column]]
    seen = Counter(c for c in codes if c is not None)
    for i, code in enumerate(codes):
        if code is None:
            problems.append(Problem(i, column, "missing code"))
        elif seen[code] > 1:
            problems.append(
                Problem(i, column, f"duplicate code (appears {seen[code]} times)", code)
            )
    return codes


def geodesic_area_m2(geom: shapely.Geometry) -> float:
    """Area on the WGS-84 ellipsoid, in m², of a lon/lat polygon (0 for empty)."""
    if geom is None or geom.is_empty:
        return 0.0
    area, _ = GEOD.geometry_area_perimeter(geom)
    return abs(float(area))


def as_multipolygon(geom: shapely.Geometry) -> shapely.MultiPolygon:
    """The polygonal parts of ``geom`` as one MultiPolygon (empty if it has none)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in POLYGONAL]
    polys: list[shapely.Polygon] = []
    for part in parts:
        polys.extend(shapely.get_parts(part) if part.geom_type == "MultiPolygon" else [part])
    return shapely.MultiPolygon(polys)


def polygonal_geometries(
    frame: Frame, codes: list[str | None], problems: list[Problem]
) -> tuple[list[shapely.MultiPolygon | None], list[Repair]]:
    """Check every geometry is polygonal and non-empty; repair invalid ones.

    Appends a Problem per bad feature; returns MultiPolygons (None where bad) and repairs.
    """
    out: list[shapely.MultiPolygon | None] = []
    repairs: list[Repair] = []
    for i, geom in enumerate(frame.data.geometry.values):
        code = codes[i]
        if geom is None or geom.is_empty:
            problems.append(Problem(i, "geometry", "empty or missing geometry", code))
            out.append(None)
            continue
        if geom.geom_type not in POLYGONAL:
            problems.append(Problem(i, "geometry", f"{geom.geom_type} is not a polygon", code))
            out.append(None)
            continue
        if not shapely.is_valid(geom):
            reason = shapely.is_valid_reason(geom)
            fixed = as_multipolygon(
                shapely.make_valid(geom, method="structure", keep_collapsed=False)
            )
            if fixed.is_empty:
                problems.append(
                    Problem(
                        i,
                        "geometry",
                        f"invalid ({reason}) and nothing polygonal is left after repair",
                        code,
                    )
                )
                out.append(None)
                continue
            change = geodesic_area_m2(fixed) - _shoelace_area_m2(geom)
            repairs.append(Repair(i, code or "", reason, change))
            out.append(fixed)
            continue
        out.append(as_multipolygon(geom))
    return out, repairs


def _shoelace_area_m2(geom: shapely.Geometry) -> float:
    """Area of a possibly invalid polygon as its rings state it (shells minus holes)."""
    total = 0.0
    for part in shapely.get_parts(geom):
        total += abs(GEOD.polygon_area_perimeter(*part.exterior.xy)[0])
        for ring in part.interiors:
            total -= abs(GEOD.polygon_area_perimeter(*ring.xy)[0])
    return total


def check_geometry_kind(frame: Frame, expected: tuple[str, ...], noun: str) -> None:
    """Reject the whole file when no feature has the expected geometry kind."""
    kinds = {g.geom_type for g in frame.data.geometry.values if g is not None and not g.is_empty}
    if kinds and not kinds & set(expected):
        raise InvalidInput(
            f"{frame.path}: holds {', '.join(sorted(kinds))} geometries; {noun} must be "
            f"{' or '.join(expected)}",
            field="geometry",
        )


def require_columns(frame: Frame, columns: dict[str, str | None]) -> None:
    """Raise if a named column (option -> column name) is missing from the file."""
    have = (
        [c for c in frame.data.columns if c != frame.data.geometry.name]
        if isinstance(frame.data, GeoDataFrame) and frame.crs != "none"
        else list(frame.data.columns)
    )
    for option, column in columns.items():
        if column is not None and column not in frame.data.columns:
            raise InvalidInput(
                f"{frame.path}: no column {column!r} (given as {option}); "
                f"columns are: {', '.join(map(str, have))}",
                field=option,
            )
