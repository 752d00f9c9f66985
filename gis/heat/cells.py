"""H3 aggregation of points, vectorised (h3ronpy, Rust): never a per-point Python loop.

Cells are 64-bit H3 indexes (``numpy.uint64``); strings only at the edge (GeoJSON ids).
"""

from __future__ import annotations

from dataclasses import dataclass

import h3
import h3ronpy
import h3ronpy.vector as h3v
import numpy as np
import numpy.typing as npt
import shapely

from gis.errors import InvalidInput

MIN_RES, MAX_RES = 0, 15

Cells = npt.NDArray[np.uint64]


def check_resolution(res: int, *, field: str = "res") -> int:
    """``res`` if it is an H3 resolution (0–15), else InvalidInput naming ``field``."""
    if not MIN_RES <= res <= MAX_RES:
        raise InvalidInput(f"H3 resolution must be between {MIN_RES} and {MAX_RES}", field=field)
    return res


def points_to_cells(
    *, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64], res: int
) -> Cells:
    """The H3 cell of every point (WGS-84 degrees), in input order, in one vectorised call."""
    check_resolution(res)
    if len(lon) == 0:
        return np.zeros(0, dtype=np.uint64)
    resolutions = np.full(len(lon), res, dtype=np.uint8)
    out = h3v.coordinates_to_cells(
        np.ascontiguousarray(lat, dtype=np.float64),
        np.ascontiguousarray(lon, dtype=np.float64),
        resolutions,
    )
    return np.asarray(out, dtype=np.uint64)


@dataclass(frozen=True)
class CellCounts:
    """Distinct cells (sorted) and how many points fell in each."""

    cells: Cells
    counts: npt.NDArray[np.int64]


def count_cells(cells: Cells) -> CellCounts:
    """Count points per cell (``np.unique``; sorted by cell index)."""
    unique, counts = np.unique(cells, return_counts=True)
    return CellCounts(unique.astype(np.uint64), counts.astype(np.int64))


def disks(cells: Cells, k: int = 1) -> tuple[Cells, npt.NDArray[np.int64]]:
    """Every cell's k-ring disk (itself and neighbours up to ``k`` steps), vectorised.

    Returns the disk members flattened and, for each member, the position of its centre cell.
    """
    if len(cells) == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    flat = np.asarray(h3ronpy.grid_disk(cells, k, flatten=True), dtype=np.uint64)
    size = 3 * k * (k + 1) + 1
    if len(flat) == size * len(cells):
        return flat, np.repeat(np.arange(len(cells), dtype=np.int64), size)
    # a pentagon among the cells has a smaller disk: fall back to one call per cell
    members = [[h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(int(x)), k)] for x in cells]
    rows = np.repeat(np.arange(len(cells), dtype=np.int64), [len(m) for m in members])
    return np.array([c for m in members for c in m], dtype=np.uint64), rows


def cell_ids(cells: Cells) -> list[str]:
    """H3 indexes as the usual hexadecimal strings."""
    return [format(int(c), "x") for c in cells]


def cell_polygons(cells: Cells) -> list[list[list[float]]]:
    """Each cell's boundary as a closed GeoJSON ring of ``[lon, lat]`` (WGS-84, 1e-7°)."""
    if len(cells) == 0:
        return []
    polygons = shapely.from_wkb(h3v.cells_to_wkb_polygons(cells).to_pylist())
    coords = np.round(shapely.get_coordinates(polygons), 7).tolist()
    ends = np.cumsum(shapely.get_num_coordinates(polygons)).tolist()
    starts = [0, *ends[:-1]]
    return [coords[a:b] for a, b in zip(starts, ends, strict=True)]


def cell_centres(cells: Cells) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Centre ``(lon, lat)`` of every cell (WGS-84 degrees), vectorised."""
    if len(cells) == 0:
        return np.zeros(0), np.zeros(0)
    batch = h3v.cells_to_coordinates(cells)
    lon = np.asarray(batch.column("lng"), dtype=np.float64)
    lat = np.asarray(batch.column("lat"), dtype=np.float64)
    return lon, lat
