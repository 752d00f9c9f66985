"""Byte-stable writers: GeoJSON (own serializer, 7-decimal lon/lat), CSV and JSON.

Nothing here goes through GDAL: the files must be identical for identical input on any
machine, so features are written one per line in the given order, keys in a fixed order,
coordinates rounded to 7 decimals (about 1 cm), rings counter-clockwise (RFC 7946).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import Point, Polygon

from gis.crs import local_metric_crs
from gis.csvsafe import safe_cell
from gis.demo.geom import Areal, polygons_of

#: The street centre: origin of the local metric frame.
CENTRE: Final = (121.40, 31.25)
DECIMALS: Final = 7


class Projector:
    """Local metres (transverse Mercator at CENTRE) → rounded WGS-84 lon/lat."""

    def __init__(self) -> None:
        crs = local_metric_crs(lon=CENTRE[0], lat=CENTRE[1])
        self._fwd = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def lonlat(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) local metres → (N, 2) lon/lat rounded to 7 decimals."""
        lon, lat = self._fwd.transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lon, lat]), DECIMALS)

    def point(self, x: float, y: float) -> tuple[float, float]:
        """One point → (lon, lat) rounded to 7 decimals."""
        out = self.lonlat(np.array([[x, y]], dtype=float))
        return float(out[0, 0]), float(out[0, 1])

    def _ring(self, coords: Any) -> list[list[float]]:
        ll = self.lonlat(np.asarray(coords, dtype=float)[:, :2])
        keep = np.ones(len(ll), dtype=bool)
        keep[1:] = np.any(ll[1:] != ll[:-1], axis=1)
        ring = [[float(x), float(y)] for x, y in ll[keep]]
        if len(ring) < 4 or ring[0] != ring[-1]:
            raise RuntimeError("ring collapsed while rounding")
        return ring

    def polygon(self, poly: Polygon) -> list[list[list[float]]]:
        """GeoJSON coordinates of one polygon (exterior counter-clockwise)."""
        p = shapely.orient_polygons(poly, exterior_cw=False)
        return [self._ring(p.exterior.coords), *(self._ring(r.coords) for r in p.interiors)]

    def geometry(self, geom: Areal | Point, *, multi: bool) -> dict[str, Any]:
        """A GeoJSON geometry object; areas as MultiPolygon when ``multi``. Checks validity."""
        if isinstance(geom, Point):
            lon, lat = self.point(geom.x, geom.y)
            return {"type": "Point", "coordinates": [lon, lat]}
        parts = [self.polygon(p) for p in polygons_of(geom)]
        out: dict[str, Any]
        if multi or len(parts) > 1:
            out = {"type": "MultiPolygon", "coordinates": parts}
        else:
            out = {"type": "Polygon", "coordinates": parts[0]}
        shape = shapely.geometry.shape(out)
        if not shape.is_valid:
            raise RuntimeError(f"invalid geometry after rounding: {shapely.is_valid_reason(shape)}")
        return out


def dumps(obj: Any) -> str:
    """Compact JSON, UTF-8 characters kept as is."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def feature(props: dict[str, Any], geometry: dict[str, Any]) -> str:
    """One GeoJSON feature on one line."""
    return dumps({"type": "Feature", "properties": props, "geometry": geometry})


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` as UTF-8 with LF line ends."""
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return path


def write_collection(path: Path, features: Iterable[str]) -> Path:
    """A FeatureCollection, one feature per line (diff-friendly, still one JSON value)."""
    body = ",\n".join(features)
    return write_text(path, '{"type":"FeatureCollection","features":[\n' + body + "\n]}\n")


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """CSV with a header row, LF line ends, empty cells for None, formula-like text escaped
    (:mod:`gis.csvsafe`)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow(["" if v is None else safe_cell(v) for v in row])
    return write_text(path, buf.getvalue())


def write_json(path: Path, obj: Any) -> Path:
    """Indented JSON (2 spaces), UTF-8 kept, trailing newline."""
    return write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
