"""Assigning every row of a CSV or GeoJSON file of points, streamed in chunks.

Every input column is kept unchanged (CSV values are copied as text, byte for byte); the
answer is appended as ``owner_code``, ``owner_name``, ``also_covered_by`` (codes joined with
``;``), ``nearest_code``, ``nearest_distance_m`` and ``assign_error``. A row whose
coordinates are missing or unusable keeps its place and gets ``assign_error``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio

from gis.assign.service import Assigner, LevelIndex, locate
from gis.crs import CrsSpec, parse_crs, points_to_wgs84
from gis.csvsafe import safe_cell
from gis.errors import InvalidInput

RESULT_COLUMNS = (
    "owner_code",
    "owner_name",
    "also_covered_by",
    "nearest_code",
    "nearest_distance_m",
    "assign_error",
)


@dataclass
class FileSummary:
    rows: int = 0
    assigned: int = 0
    outside: int = 0
    errors: int = 0
    generation: int = 0
    level: str = ""


def _answers(
    level_index: LevelIndex,
    lon: np.ndarray,
    lat: np.ndarray,
    reasons: list[str | None],
    crs: CrsSpec,
) -> dict[str, list[Any]]:
    x, y, reasons = points_to_wgs84(lon=lon, lat=lat, crs=crs, errors=reasons)
    found = locate(level_index, lon=x, lat=y, errors=reasons)
    refs = level_index.refs
    out: dict[str, list[Any]] = {c: [] for c in RESULT_COLUMNS}
    for i, reason in enumerate(reasons):
        owner, near = found.owner[i], found.nearest[i]
        start, end = found.indptr[i] + 1, found.indptr[i + 1]
        out["owner_code"].append(refs[owner].code if owner >= 0 else "")
        out["owner_name"].append((refs[owner].name or "") if owner >= 0 else "")
        out["also_covered_by"].append(";".join(refs[j].code for j in found.indices[start:end]))
        out["nearest_code"].append(refs[near].code if near >= 0 else "")
        out["nearest_distance_m"].append(f"{found.distance_m[i]:.2f}" if near >= 0 else "")
        out["assign_error"].append(reason or "")
    return out


def _floats(values: pd.Series, name: str) -> tuple[np.ndarray, list[str | None]]:
    numbers = pd.to_numeric(values.str.strip(), errors="coerce").to_numpy(np.float64)
    reasons: list[str | None] = [None] * len(values)
    for i in np.flatnonzero(~np.isfinite(numbers)).tolist():
        raw = values.iloc[i]
        reasons[i] = f"{name}: missing" if not str(raw).strip() else f"{name}: not a number"
    return numbers, reasons


def count_rows(path: Path) -> int:
    """Data rows of a CSV (lines minus the header) or features of a vector file."""
    if path.suffix.lower() == ".csv":
        with open(path, "rb") as handle:
            return max(0, sum(1 for _ in handle) - 1)
    return int(pyogrio.read_info(path)["features"])


def assign_file(
    assigner: Assigner,
    source: Path,
    out: Path,
    *,
    lon_col: str = "lon",
    lat_col: str = "lat",
    crs: str = "wgs84",
    level: str | None = None,
    generation: int | None = None,
    chunk_size: int = 100_000,
    progress: Callable[[int], None] = lambda _: None,
) -> FileSummary:
    """Assign every row of ``source`` (CSV or point GeoJSON/GPKG) and write ``out``."""
    spec = parse_crs(crs)
    number = assigner.resolve(generation=generation)
    level_index = assigner.index(generation=number, level=level)
    summary = FileSummary(generation=number, level=level_index.level)
    if not source.exists():
        raise InvalidInput(f"{source}: no such file", field="file")
    if source.suffix.lower() == ".csv":
        chunks = _csv_chunks(source, out, lon_col, lat_col, chunk_size)
    else:
        chunks = _vector_chunks(source, out, chunk_size)
    for lon, lat, reasons, emit in chunks:
        answers = _answers(level_index, lon, lat, reasons, spec)
        emit(answers)
        summary.rows += len(lon)
        summary.errors += sum(1 for e in answers["assign_error"] if e)
        summary.assigned += sum(1 for c in answers["owner_code"] if c)
        progress(len(lon))
    summary.outside = summary.rows - summary.assigned - summary.errors
    return summary


Chunk = tuple[np.ndarray, np.ndarray, list[str | None], Callable[[dict[str, list[Any]]], None]]


def _csv_chunks(
    source: Path, out: Path, lon_col: str, lat_col: str, chunk_size: int
) -> Iterator[Chunk]:
    header = pd.read_csv(source, nrows=0, dtype=str)
    for option, column in (("--lon-col", lon_col), ("--lat-col", lat_col)):
        if column not in header.columns:
            raise InvalidInput(
                f"{source}: no column {column!r}; columns are: {', '.join(header.columns)}",
                field=option,
            )
    clash = [c for c in RESULT_COLUMNS if c in header.columns]
    if clash:
        raise InvalidInput(f"{source}: already has column(s) {', '.join(clash)}", field="file")
    first = True
    reader = pd.read_csv(source, dtype=str, keep_default_na=False, chunksize=chunk_size)
    for frame in reader:
        lon, lon_reasons = _floats(frame[lon_col], "lon")
        lat, lat_reasons = _floats(frame[lat_col], "lat")
        reasons = [a or b for a, b in zip(lon_reasons, lat_reasons, strict=True)]

        def emit(answers: dict[str, list[Any]], frame: pd.DataFrame = frame) -> None:
            nonlocal first
            # every cell formula-safe (issue 22 B): names come from imported boundary files
            result = frame.assign(**answers).map(safe_cell)
            result.to_csv(out, mode="w" if first else "a", header=first, index=False)
            first = False

        yield lon, lat, reasons, emit


def _vector_chunks(source: Path, out: Path, chunk_size: int) -> Iterator[Chunk]:
    total = int(pyogrio.read_info(source)["features"])
    with open(out, "w", encoding="utf-8") as handle:
        handle.write('{"type":"FeatureCollection","features":[\n')
        written = 0
        for start in range(0, max(total, 1), chunk_size):
            frame = pyogrio.read_dataframe(source, skip_features=start, max_features=chunk_size)
            if len(frame) == 0:
                break
            geoms = frame.geometry.values
            lon = np.full(len(frame), np.nan)
            lat = np.full(len(frame), np.nan)
            reasons: list[str | None] = [None] * len(frame)
            for i, g in enumerate(geoms):
                if g is None or g.is_empty or g.geom_type != "Point":
                    reasons[i] = "geometry: not a point"
                else:
                    lon[i], lat[i] = g.x, g.y
            props = frame.drop(columns=frame.geometry.name)

            def emit(
                answers: dict[str, list[Any]], props: pd.DataFrame = props, geoms: Any = geoms
            ) -> None:
                nonlocal written
                records = json.loads(props.to_json(orient="records", force_ascii=False))
                for i, record in enumerate(records):
                    record.update({k: v[i] for k, v in answers.items()})
                    geom = geoms[i]
                    feature = {
                        "type": "Feature",
                        "properties": record,
                        "geometry": None if geom is None else geom.__geo_interface__,
                    }
                    handle.write(
                        ("," if written else "") + json.dumps(feature, ensure_ascii=False) + "\n"
                    )
                    written += 1

            yield lon, lat, reasons, emit
        handle.write("]}\n")
