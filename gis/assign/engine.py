"""In-memory point -> area index: exact, vectorised, millions of points per second per core.

The contract (what the service promises; docs/assignment.md, "The contract"):

* A point is **covered** by an area whose polygon covers it in the sense of
  ``shapely.covers``: interior *or* boundary, holes' rings included.
* Its **owner** is the covering area with the lexicographically smallest ``code``; the other
  covering areas are "also covered by" (shared borders, overlaps in imperfect data).
* A point covered by no area has no owner; :meth:`AreaIndex.nearest` gives the nearest area
  and the true distance in metres, measured in a local transverse Mercator CRS centred on the
  data (:func:`gis.crs.local_metric_crs`).

Areas are kept sorted by code, so "area index ``i``" always means ``index.codes[i]``, and the
owner of a point is simply the smallest covering index.

How :meth:`AreaIndex.lookup` is exact *and* fast
------------------------------------------------
A regular grid (up to ~4M cells, sized from the number of edges, cells roughly square on the
ground) covers the data bounding box. Every cell that some ring edge may touch (computed
conservatively, with margins far above rounding error) is a *boundary* cell; every other cell
is *uniform*: all its points are covered by the same set of areas, labelled at build time by a
scan-line sweep that needs no floating-point predicate at all. A point in a uniform cell is
answered with two array reads. A boundary cell holds one record (``_refine.pack_nodes``): a
reference point whose covering set is known exactly, and the edges touching the cell; a
point's set is the reference set XOR the areas of the edges that the segment point ->
reference crosses. Cells with many edges get a sub-grid of such records (``_refine.refine``).
Each orientation sign is certified with Shewchuk's error bound A; a point with an uncertain
sign (exactly on an edge or vertex, or within a few ulps of one) is settled by GEOS
(``STRtree.query(..., predicate="covered_by")``, robust predicates). Results are therefore
identical to ``shapely.covers`` for every input, including points exactly on shared borders
and vertices.

A lookup makes two sweeps: points in uniform cells are answered at once; the points in
boundary cells are copied out in cell order (a counting sort) and evaluated record by record,
so a big index is read from cache instead of one cache miss per array per point.

Costs (one core, numba kernels already compiled: they are cached on disk by ``cache=True``;
a cold compile takes ~10 s once per machine/version; figures from ``bench/assign.py`` and
``bench/assign_scale.py``, which print them beside geopandas):

* build: 252 Shanghai townships (59k vertices): ~0.1 s; 300 micro-grids: ~30 ms; 100,000
  polygons with 1M vertices: ~2.5 s (a third of it the GEOS/PROJ work: validity, the
  metric copy, STR-trees, the nearest-segment index).
* memory: 4 bytes per grid cell plus, per boundary cell, 32 bytes and 40 bytes per listed
  edge: ~12 MB for the townships, ~6 MB for 300 micro-grids, ~200 MB for 100,000 polygons.
* lookup of 1M points (90 % uniform over the bbox, 10 % within a metre of an edge): ~30 ms
  on 300 micro-grids, ~40 ms on the townships, ~0.15 s on 100,000 polygons (geopandas
  ``sjoin(predicate="within")``: ~0.8-1.8 s). It releases the GIL.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer
from shapely import MultiPolygon, Polygon, STRtree

from gis.assign import _kernels as K
from gis.assign import _refine as RF
from gis.assign.nearest import Rings, SegmentIndex
from gis.crs import in_lon_lat_range, local_metric_crs
from gis.errors import InvalidInput

__all__ = ["AreaIndex", "Lookup"]

_F64 = NDArray[np.float64]

_MAX_CELLS = 1 << 22
_BASE_CELLS = 1 << 20
_ENTRIES_PER_EDGE = 6
_MIN_CELLS = 4096
_CELLS_PER_EDGE = 256
_MAX_SIDE = 4096
#: segments per quarter circle for :meth:`AreaIndex.circle_shares` (area error < 2e-5)
_CIRCLE_QUAD_SEGS = 128


@dataclass(frozen=True, slots=True)
class Lookup:
    """Result of :meth:`AreaIndex.lookup` for ``n`` points.

    ``owner[i]`` is the owning area index (smallest covering index) or -1. The covering areas
    of point ``i`` are ``indices[indptr[i]:indptr[i + 1]]``, ascending (so the owner first).
    ``n_exact`` counts the points whose answer needed the exact GEOS fallback.
    """

    owner: NDArray[np.int32]
    indptr: NDArray[np.int64]
    indices: NDArray[np.int32]
    n_exact: int = 0

    def __len__(self) -> int:
        return int(self.owner.shape[0])

    @property
    def n_covering(self) -> NDArray[np.int64]:
        """Number of areas covering each point."""
        return np.diff(self.indptr)

    def covering(self, i: int) -> NDArray[np.int32]:
        """All areas covering point ``i``, ascending (owner first)."""
        return self.indices[self.indptr[i] : self.indptr[i + 1]]

    def also_covered_by(self, i: int) -> NDArray[np.int32]:
        """The areas covering point ``i`` other than its owner."""
        return self.indices[self.indptr[i] + 1 : self.indptr[i + 1]]


@dataclass(frozen=True, slots=True)
class _Grid:
    gx0: float
    gy0: float
    gx1: float
    gy1: float
    inv_w: float
    inv_h: float
    ncols: int
    nrows: int
    cell: NDArray[np.int32]  # label id (>= 0) or -(node + 1)
    lab_ptr: NDArray[np.int64]
    lab_members: NDArray[np.int32]
    lab_owner: NDArray[np.int32]
    max_touch: int
    G: tuple[float, float, float, float, int]  # gx0, gy0, w, h, ncols for the kernels
    R: tuple[Any, ...]  # node records and sub-grids (RF.pack_nodes)
    n_nodes0: int  # boundary cells
    n_refined: int  # boundary cells with a sub-grid

    @property
    def refined_cells(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """``(first-level cell, sub-grid side)`` of every refined boundary cell (diagnostics)."""
        sub = self.R[1]
        return sub[:, 3], sub[:, 1]

    @property
    def nbytes(self) -> int:
        """Memory held by the grid's arrays, in bytes."""
        arrays: list[NDArray[Any]] = [self.cell, self.lab_ptr, self.lab_members, self.lab_owner]
        arrays += [a for a in self.R if isinstance(a, np.ndarray)]
        return sum(int(a.nbytes) for a in arrays)


class AreaIndex:
    """Exact point -> area index over WGS-84 polygons; see the module docstring.

    Build with :meth:`build`. Instances are immutable and safe to share between threads.
    """

    __slots__ = (
        "_bounds",
        "_codes",
        "_geoms",
        "_grid",
        "_input_order",
        "_metric_geoms",
        "_metric_tree",
        "_names",
        "_segments",
        "_to_metric",
        "_tree",
    )

    _bounds: tuple[float, float, float, float]
    _codes: tuple[str, ...]
    _geoms: NDArray[np.object_]
    _grid: _Grid
    _input_order: NDArray[np.int64]
    _metric_geoms: NDArray[np.object_]
    _metric_tree: STRtree
    _names: tuple[str, ...]
    _segments: SegmentIndex
    _to_metric: Transformer
    _tree: STRtree

    def __init__(self) -> None:
        raise TypeError("use AreaIndex.build(codes, geoms, names)")

    # ---------------------------------------------------------------------------------- build

    @classmethod
    def build(
        cls,
        codes: Sequence[str],
        geoms: Sequence[Polygon | MultiPolygon],
        names: Sequence[str] | None = None,
    ) -> AreaIndex:
        """Index ``geoms`` (valid WGS-84 lon/lat polygons or multipolygons) under ``codes``.

        Areas are re-ordered by code; ``input_order[i]`` is the position in ``codes`` of area
        ``i``. Raises :class:`~gis.errors.InvalidInput` for duplicate codes, mismatched lengths,
        empty input, or a geometry that is not a non-empty valid (multi)polygon.
        """
        n = len(codes)
        if n == 0:
            raise InvalidInput("at least one area is needed", field="codes")
        if len(geoms) != n:
            raise InvalidInput(f"{len(geoms)} geometries for {n} codes", field="geoms")
        if names is not None and len(names) != n:
            raise InvalidInput(f"{len(names)} names for {n} codes", field="names")
        code_list = [str(c) for c in codes]
        if len(set(code_list)) != n:
            dup = next(c for c, k in Counter(code_list).items() if k > 1)
            raise InvalidInput(f"duplicate code {dup!r}", field="codes")
        garr = np.empty(n, dtype=object)
        garr[:] = list(geoms)
        for i, g in enumerate(garr):
            if not isinstance(g, Polygon | MultiPolygon):
                raise InvalidInput(
                    f"area {code_list[i]!r}: expected a Polygon or MultiPolygon, "
                    f"got {type(g).__name__}",
                    field=f"geoms[{i}]",
                )
            if g.is_empty:
                raise InvalidInput(f"area {code_list[i]!r}: empty geometry", field=f"geoms[{i}]")
        valid = shapely.is_valid(garr)
        if not valid.all():
            i = int(np.flatnonzero(~valid)[0])
            raise InvalidInput(
                f"area {code_list[i]!r}: invalid geometry ({shapely.is_valid_reason(garr[i])})",
                field=f"geoms[{i}]",
            )
        order = np.array(sorted(range(n), key=code_list.__getitem__), dtype=np.int64)
        self = object.__new__(cls)
        self._codes = tuple(code_list[i] for i in order)
        self._names = tuple(str(names[i]) for i in order) if names is not None else ("",) * n
        self._input_order = order
        self._input_order.setflags(write=False)
        self._geoms = garr[order]
        self._geoms.setflags(write=False)
        b = shapely.total_bounds(self._geoms)
        self._bounds = (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
        cx = (self._bounds[0] + self._bounds[2]) / 2.0
        cy = (self._bounds[1] + self._bounds[3]) / 2.0
        self._to_metric = Transformer.from_crs(
            "EPSG:4326", local_metric_crs(lon=cx, lat=cy), always_xy=True
        )
        # one pass over the coordinates serves the grid, the metric copy and the segments
        # (scratch arrays are dropped as soon as they are used: the build's peak is what a
        # worker needs)
        rings = Rings.of(self._geoms)
        self._grid = _build_grid(rings, len(code_list), self._bounds)
        wa, wb, area = rings.segments()
        wmid = 0.5 * (wa + wb)
        del wa, wb
        mid = self._to_metric.transform(wmid[:, 0], wmid[:, 1])
        del wmid
        self._tree = STRtree(self._geoms)
        mxy = np.column_stack(self._to_metric.transform(rings.xy[:, 0], rings.xy[:, 1]))
        self._metric_geoms = rings.geometries(mxy)
        self._metric_tree = STRtree(self._metric_geoms)
        ma, mb, _ = rings.segments(mxy)
        del rings, mxy
        self._segments = SegmentIndex.from_segments(ma, mb, area, mid)
        del ma, mb, mid
        self._warm()
        _release_free_memory()
        return self

    def _warm(self) -> None:
        """Run every lookup kernel once, so the numba code is loaded (from the on-disk cache,
        or compiled) now and the first request pays nothing."""
        b = self._bounds
        x, y = (b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0
        self.lookup(lon=np.array([x, x]), lat=np.array([y, y]))
        self.nearest(lon=np.array([b[0] - 0.01, x]), lat=np.array([b[1] - 0.01, y]))

    # ----------------------------------------------------------------------------- properties

    @property
    def codes(self) -> tuple[str, ...]:
        """Area codes, ascending; area index ``i`` is ``codes[i]``."""
        return self._codes

    @property
    def names(self) -> tuple[str, ...]:
        """Area names in index order (empty strings when built without names)."""
        return self._names

    @property
    def geometries(self) -> NDArray[np.object_]:
        """The WGS-84 geometries in index order (read-only array)."""
        return self._geoms

    @property
    def input_order(self) -> NDArray[np.int64]:
        """``input_order[i]``: position of area ``i`` in the sequences given to :meth:`build`."""
        return self._input_order

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` of all areas."""
        return self._bounds

    @property
    def grid_shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the acceleration grid (diagnostics)."""
        return self._grid.nrows, self._grid.ncols

    def __len__(self) -> int:
        return len(self._codes)

    def __repr__(self) -> str:
        return f"<AreaIndex {len(self)} areas, grid {self._grid.nrows}x{self._grid.ncols}>"

    # --------------------------------------------------------------------------------- lookup

    def lookup(self, *, lon: ArrayLike, lat: ArrayLike) -> Lookup:
        """Owner and covering areas of each point (``lon``, ``lat``: 1-D, WGS-84 degrees).

        NaN, infinite or out-of-range coordinates get no owner and no covering area.
        """
        x, y = _coords(lon, lat)
        g = self._grid
        n = x.shape[0]
        owner = np.empty(n, np.int32)
        count = np.empty(n, np.int64)
        n_unresolved = RF.lookup_pass1(
            x, y, g.gx1, g.gy1, g.inv_w, g.inv_h, g.nrows, g.cell, g.lab_ptr, g.lab_owner,
            len(self), g.max_touch, g.G, g.R, owner, count,
        )  # fmt: skip
        flagged = fl_pts = fl_areas = np.empty(0, np.int64)
        if n_unresolved:
            # exact fallback: GEOS (robust predicates) for the few uncertified points
            flagged = np.flatnonzero(owner == K.UNRESOLVED)
            pairs = self._tree.query(shapely.points(x[flagged], y[flagged]), predicate="covered_by")
            srt = np.lexsort((pairs[1], pairs[0]))
            fl_pts = flagged[pairs[0][srt]]
            fl_areas = pairs[1][srt]
            count[flagged] = 0
            np.add.at(count, fl_pts, 1)
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(count, out=indptr[1:])
        indices = np.empty(int(indptr[-1]), np.int32)
        RF.lookup_pass2(
            x, y, g.inv_w, g.inv_h, g.nrows, g.cell, g.lab_ptr, g.lab_members, len(self),
            g.max_touch, g.G, g.R, owner, indptr, indices,
        )  # fmt: skip
        if n_unresolved:
            owner[flagged] = -1
            if fl_pts.size:
                first = np.ones(fl_pts.size, bool)
                first[1:] = fl_pts[1:] != fl_pts[:-1]
                starts = np.flatnonzero(first)
                rank = np.arange(fl_pts.size) - np.repeat(
                    starts, np.diff(starts, append=fl_pts.size)
                )
                indices[indptr[fl_pts] + rank] = fl_areas
                owner[fl_pts[first]] = fl_areas[first]
        return Lookup(owner=owner, indptr=indptr, indices=indices, n_exact=int(n_unresolved))

    # -------------------------------------------------------------------------------- nearest

    def nearest(
        self, *, lon: ArrayLike, lat: ArrayLike, max_distance_m: float | None = None
    ) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
        """Nearest area and its distance in metres for each point.

        A covered point gets its owner at distance 0. Otherwise the area at the smallest
        distance (measured in the index's local metric CRS; ties -> smallest code), or -1 and
        NaN when there is none within ``max_distance_m`` (or the input is not a coordinate).
        """
        if max_distance_m is not None and not (float(max_distance_m) >= 0.0):
            raise InvalidInput("must be a non-negative number of metres", field="max_distance_m")
        x, y = _coords(lon, lat)
        idx = self.lookup(lon=x, lat=y).owner
        dist = np.where(idx >= 0, 0.0, np.nan)
        todo = np.flatnonzero((idx < 0) & in_lon_lat_range(x, y))
        if todo.size == 0 or max_distance_m == 0:
            return idx, dist
        px, py = self._to_metric.transform(x[todo], y[todo])
        px = np.asarray(px, np.float64)
        py = np.asarray(py, np.float64)
        ok = np.isfinite(px) & np.isfinite(py)
        todo = todo[ok]
        px, py = px[ok], py[ok]
        near, d, flagged = self._segments.query(px, py, max_distance_m)
        # within a sagitta of a boundary the projected point may be covered by the projected
        # polygon (GEOS then answers 0): settle those few with GEOS, as before the tree existed
        close = np.flatnonzero(flagged)
        if close.size:
            near[close], d[close] = self._geos_nearest(px[close], py[close], max_distance_m)
        found = near >= 0
        idx[todo[found]] = near[found]
        dist[todo[found]] = d[found]
        return idx, dist

    def _geos_nearest(
        self, px: NDArray[np.float64], py: NDArray[np.float64], max_distance_m: float | None
    ) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
        """Nearest area by GEOS for metric points (slow path: ~60 µs a point)."""
        near = np.full(px.shape[0], -1, np.int32)
        d = np.full(px.shape[0], np.nan)
        pairs, dd = self._metric_tree.query_nearest(
            shapely.points(px, py),
            max_distance=None if max_distance_m is None else float(max_distance_m),
            return_distance=True,
            all_matches=True,
        )
        srt = np.lexsort((pairs[1], dd, pairs[0]))
        src = pairs[0][srt]
        first = np.ones(src.size, bool)
        first[1:] = src[1:] != src[:-1]
        pick = srt[first]
        near[pairs[0][pick]] = pairs[1][pick].astype(np.int32)
        d[pairs[0][pick]] = dd[pick]
        return near, d

    # --------------------------------------------------------------------------------- shares

    def circle_shares(self, *, lon: float, lat: float, radius_m: float) -> list[tuple[int, float]]:
        """Share (0..1] of a circle of ``radius_m`` metres around ``lon, lat`` in each area.

        The circle is a 512-gon in the index's metric CRS; shares are intersection area over
        the polygon's area. Sorted by share descending, then index; areas meeting the circle in
        zero area are left out.
        """
        if not (math.isfinite(radius_m) and radius_m > 0.0):
            raise InvalidInput("must be a positive number of metres", field="radius_m")
        if not in_lon_lat_range(np.array([lon], np.float64), np.array([lat], np.float64))[0]:
            raise InvalidInput("not a WGS-84 coordinate", field="lon")
        cx, cy = self._to_metric.transform(lon, lat)
        circle = shapely.buffer(shapely.Point(cx, cy), radius_m, quad_segs=_CIRCLE_QUAD_SEGS)
        return self._shares(np.array([circle], dtype=object))[0]

    def polygon_shares(
        self, geoms: Sequence[Polygon | MultiPolygon]
    ) -> list[list[tuple[int, float]]]:
        """For each WGS-84 polygon (e.g. a building), the share of its area in each area.

        Areas are measured in the index's metric CRS. Each list is sorted by share descending,
        then index, so its first entry is the area owning most of the polygon; it is empty for
        an empty or zero-area polygon, or one outside every area.
        """
        arr = np.empty(len(geoms), dtype=object)
        arr[:] = list(geoms)
        return self._shares(self._project(arr))

    def _shares(self, metric: NDArray[np.object_]) -> list[list[tuple[int, float]]]:
        out: list[list[tuple[int, float]]] = [[] for _ in range(metric.shape[0])]
        denom = shapely.area(metric)
        pairs = self._metric_tree.query(metric, predicate="intersects")
        if pairs.shape[1] == 0:
            return out
        # most polygons (buildings) lie inside one area: their share there is exactly 1, and
        # a cheap `within` test spares the overlay; only the rest are intersected
        n_hits = np.bincount(pairs[0], minlength=metric.shape[0])
        single = n_hits[pairs[0]] == 1
        inside = np.zeros(pairs.shape[1], bool)
        inside[single] = shapely.within(
            metric[pairs[0][single]], self._metric_geoms[pairs[1][single]]
        ) & (denom[pairs[0][single]] > 0.0)
        inter = np.empty(pairs.shape[1])
        rest = ~inside
        inter[rest] = shapely.area(
            shapely.intersection(metric[pairs[0][rest]], self._metric_geoms[pairs[1][rest]])
        )
        inter[inside] = denom[pairs[0][inside]]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = inter / denom[pairs[0]]
        keep = np.isfinite(share) & (share > 0.0)
        src, area, share = pairs[0][keep], pairs[1][keep], share[keep]
        srt = np.lexsort((area, -share, src))
        for s, a, v in zip(src[srt].tolist(), area[srt].tolist(), share[srt].tolist(), strict=True):
            out[s].append((a, min(v, 1.0)))
        return out

    def _project(self, geoms: NDArray[np.object_]) -> NDArray[np.object_]:
        tr = self._to_metric

        def fn(x: NDArray[np.float64], y: NDArray[np.float64]) -> Any:
            return tr.transform(x, y)

        out: NDArray[np.object_] = shapely.transform(geoms, fn, interleaved=False)
        return out


# ---------------------------------------------------------------------------------- helpers


def _release_free_memory() -> None:
    """Hand the build's freed scratch memory back to the OS (glibc keeps it otherwise, and
    every API worker would carry the build's peak, not the index's size, as RSS)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _coords(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.ascontiguousarray(lon, dtype=np.float64)
    y = np.ascontiguousarray(lat, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise InvalidInput("lon and lat must be 1-D arrays", field="lon" if x.ndim != 1 else "lat")
    if x.shape != y.shape:
        raise InvalidInput(f"{x.shape[0]} lon values for {y.shape[0]} lat values", field="lat")
    return x, y


def _edges(
    a: _F64, b: _F64, area: NDArray[np.int32]
) -> tuple[_F64, _F64, _F64, _F64, NDArray[np.int32]]:
    """Ring segments ``a -> b`` as edges, lower end first, zero-length dropped."""
    keep = (a[:, 0] != b[:, 0]) | (a[:, 1] != b[:, 1])
    a, b, area = a[keep], b[keep], area[keep]
    swap = (a[:, 1] > b[:, 1]) | ((a[:, 1] == b[:, 1]) & (a[:, 0] > b[:, 0]))
    lo = np.where(swap[:, None], b, a)
    hi = np.where(swap[:, None], a, b)
    return (
        np.ascontiguousarray(lo[:, 0]),
        np.ascontiguousarray(lo[:, 1]),
        np.ascontiguousarray(hi[:, 0]),
        np.ascontiguousarray(hi[:, 1]),
        area,
    )


def _build_grid(rings: Rings, n_areas: int, bounds: tuple[float, float, float, float]) -> _Grid:
    x1, y1, x2, y2, area = _edges(*rings.segments())
    minx, miny, maxx, maxy = bounds
    # margins: far above the rounding error of any coordinate arithmetic below
    m_abs = 1e-12 * (1.0 + max(abs(minx), abs(maxx), abs(miny), abs(maxy)))
    span = max(maxx - minx, maxy - miny)
    pad = max(1e-9 * span, 4.0 * m_abs)
    gx0, gy0, gx1, gy1 = minx - pad, miny - pad, maxx + pad, maxy + pad
    width, height = gx1 - gx0, gy1 - gy0
    kx = max(math.cos(math.radians(max(-89.0, min(89.0, (miny + maxy) / 2.0)))), 0.01)
    # small layers: 256 cells per edge up to _BASE_CELLS; big ones: 4 cells per edge
    n_e = x1.shape[0]
    target = min(max(_CELLS_PER_EDGE * n_e, _MIN_CELLS), max(_BASE_CELLS, 4 * n_e), _MAX_CELLS)
    # long edges cross many cells and each crossing is a list entry: halve the cell count
    # (down to _BASE_CELLS) while the expected number of entries exceeds the budget
    ex_len = float(np.abs(x2 - x1).sum()) * kx
    ey_len = float(np.abs(y2 - y1).sum())
    while target > _BASE_CELLS:
        side = math.sqrt(width * kx * height / target)
        if x1.shape[0] + (ex_len + ey_len) / side <= _ENTRIES_PER_EDGE * x1.shape[0]:
            break
        target //= 2
    side = math.sqrt(width * kx * height / target)
    min_cell = 1e4 * m_abs
    ncols = int(min(max(math.ceil(width * kx / side), 1), _MAX_SIDE, max(width // min_cell, 1)))
    nrows = int(min(max(math.ceil(height / side), 1), _MAX_SIDE, max(height // min_cell, 1)))
    w, h = width / ncols, height / nrows
    inv_w, inv_h = ncols / width, nrows / height
    mx, my = max(1e-6 * w, m_abs), max(1e-6 * h, m_abs)

    pe, pr, pc0, pc1 = K.edge_row_spans(
        x1, y1, x2, y2, gx0, gy0, w, h, inv_w, inv_h, ncols, nrows, mx, my
    )
    cell, row_run_ptr, run_c0, run_c1, run_ptr, run_edges = K.build_runs(
        pe, pr, pc0, pc1, ncols, nrows
    )
    ey1, ey2, earea = y1[run_edges], y2[run_edges], area[run_edges]
    rng = np.random.default_rng(0x9E3779B97F4A7C15)
    for _attempt in range(4):
        zobrist = rng.integers(1, np.iinfo(np.uint64).max, size=n_areas, dtype=np.uint64)
        status, _run_label, lab_ptr, lab_members = K.label_cells(
            cell, row_run_ptr, run_c0, run_c1, run_ptr, ey1, ey2, earea, gy0, h, ncols, nrows,
            n_areas, zobrist,
        )  # fmt: skip
        if status != 1:
            break
    if status != 0:  # pragma: no cover - would be a bug (or four 64-bit hash collisions)
        raise RuntimeError(f"area index build failed (status {status})")
    # scratch goes as soon as it is used: the build's peak memory is what a worker needs
    del row_run_ptr, run_c0, run_c1, run_ptr, run_edges, ey1, ey2, earea, _run_label
    lab_ptr = np.ascontiguousarray(lab_ptr)
    lab_members = np.ascontiguousarray(lab_members)
    sizes = np.diff(lab_ptr)
    lab_owner = np.full(sizes.shape[0], -1, np.int32)
    nonempty = sizes > 0
    lab_owner[nonempty] = lab_members[lab_ptr[:-1][nonempty]]
    max_touch = n_areas + 1  # each area enters a point's touched list at most once
    node_run, node_cell, lst_ptr, lst_edge = RF.cell_lists(pe, pr, pc0, pc1, cell, ncols)
    status, rx, ry, rset, set_ptr, set_members = RF.level0_refs(
        pe, pr, pc0, cell, lst_ptr, lst_edge, x1, y1, x2, y2, area, gx0, gy0, w, h,
        ncols, nrows, n_areas,
    )  # fmt: skip
    if status != 0:  # pragma: no cover - would be a bug (rings that are not closed)
        raise RuntimeError(f"area index build failed (reference sweep status {status})")
    del pe, pr, pc0, pc1, node_run
    lst_ptr, lst_edge, rx, ry, rset, set_ptr, set_members, sub_base, sub_k, sub_val = RF.refine(
        lst_ptr, lst_edge, node_cell, rx, ry, rset, set_ptr, set_members, x1, y1, x2, y2, area,
        gx0, gy0, w, h, ncols, m_abs, n_areas,
    )  # fmt: skip
    # the edges interleaved replace the five arrays (peak memory), one row per edge
    E = np.column_stack([x1, y1, x2, y2, area.astype(np.float64)])
    del x1, y1, x2, y2, area
    R = RF.pack_nodes(
        cell, node_cell, lst_ptr, lst_edge, E, rx, ry, rset, set_ptr, set_members, sub_base,
        sub_k, sub_val, gx0, gy0, w, h, ncols,
    )  # fmt: skip
    return _Grid(
        gx0=gx0,
        gy0=gy0,
        gx1=gx1,
        gy1=gy1,
        inv_w=inv_w,
        inv_h=inv_h,
        ncols=ncols,
        nrows=nrows,
        cell=cell,
        lab_ptr=lab_ptr,
        lab_members=lab_members,
        lab_owner=lab_owner,
        max_touch=max_touch,
        G=(gx0, gy0, w, h, ncols),
        R=R,
        n_nodes0=int(node_cell.shape[0]),
        n_refined=int((sub_k > 0).sum()),
    )
