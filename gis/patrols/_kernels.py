"""Numba kernels of patrol cleaning and of the visited-buildings query.

Vocabulary shared with ``visits.py``:

* **segment**: two consecutive kept fixes of one patrol (fix ``i`` to fix ``j = i + 1``), or
  a single fix whose neighbours are both across a break (``j = i``: a zero-length segment).
* **edge**: one ring segment of a footprint (outer rings and holes alike), in local metres.
* **grid**: square cells of ``cell`` metres; each footprint is listed in every cell its
  bounding box, enlarged by the visit distance, touches (CSR: ``cell_start``/``cell_items``).

A footprint is within ``d`` of a segment when an edge is (segment–segment distance), or when
the segment lies inside it (an even-odd ray test over all its rings, holes included).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

_EARTH_M = 6_371_008.8
_DEG = math.pi / 180.0


@njit(cache=True, nogil=True)
def clean_track(
    t: Any, lon: Any, lat: Any, ok: Any, max_speed_ms: float, max_gap_s: float
) -> tuple[Any, Any, int, int, int]:
    """Speed spikes and breaks over fixes already sorted by time (``ok``: passed accuracy).

    A fix reached from the previous kept fix faster than ``max_speed_ms`` is a spike (dropped)
    when the next fix is also too fast from it but not from the previous kept fix (out and
    back); otherwise it is kept and a break starts there (a jump). A gap longer than
    ``max_gap_s`` starts a break too. Returns (kept, break_before, spikes, jumps, gaps)."""
    n = len(t)
    kept = np.zeros(n, dtype=np.bool_)
    brk = np.zeros(n, dtype=np.bool_)
    spikes = 0
    jumps = 0
    gaps = 0
    prev = -1
    for i in range(n):
        if not ok[i]:
            continue
        if prev < 0:
            kept[i] = True
            brk[i] = True
            prev = i
            continue
        dt = t[i] - t[prev]
        v_in = _metres(lon[prev], lat[prev], lon[i], lat[i]) / max(dt, 1e-3)
        if v_in > max_speed_ms:
            nxt = i + 1
            while nxt < n and not ok[nxt]:
                nxt += 1
            if nxt < n:
                v_out = _metres(lon[i], lat[i], lon[nxt], lat[nxt]) / max(t[nxt] - t[i], 1e-3)
                v_skip = _metres(lon[prev], lat[prev], lon[nxt], lat[nxt]) / max(
                    t[nxt] - t[prev], 1e-3
                )
                if v_out > max_speed_ms and v_skip <= max_speed_ms:
                    spikes += 1
                    continue
            kept[i] = True
            brk[i] = True
            jumps += 1
            prev = i
            continue
        kept[i] = True
        if dt > max_gap_s:
            brk[i] = True
            gaps += 1
        prev = i
    return kept, brk, spikes, jumps, gaps


@njit(cache=True, nogil=True, inline="always")
def _metres(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    """Equirectangular distance (m): exact enough at walking steps for a speed test."""
    x = (lon1 - lon0) * _DEG * math.cos(0.5 * (lat0 + lat1) * _DEG)
    y = (lat1 - lat0) * _DEG
    return _EARTH_M * math.sqrt(x * x + y * y)


@njit(cache=True, nogil=True, inline="always")
def _point_seg2(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    """Squared distance from a point to a segment."""
    dx = bx - ax
    dy = by - ay
    len2 = dx * dx + dy * dy
    u = 0.0
    if len2 > 0.0:
        u = ((px - ax) * dx + (py - ay) * dy) / len2
        u = min(1.0, max(0.0, u))
    qx = ax + u * dx - px
    qy = ay + u * dy - py
    return qx * qx + qy * qy


@njit(cache=True, nogil=True, inline="always")
def _orient(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> float:
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


@njit(cache=True, nogil=True, inline="always")
def _seg_seg2(
    ax: float, ay: float, bx: float, by: float, cx: float, cy: float, dx: float, dy: float
) -> float:
    """Squared distance between segments AB and CD (0 when they cross)."""
    d1 = _orient(cx, cy, dx, dy, ax, ay)
    d2 = _orient(cx, cy, dx, dy, bx, by)
    d3 = _orient(ax, ay, bx, by, cx, cy)
    d4 = _orient(ax, ay, bx, by, dx, dy)
    if ((d1 > 0 and d2 < 0) or (d1 < 0 and d2 > 0)) and (
        (d3 > 0 and d4 < 0) or (d3 < 0 and d4 > 0)
    ):
        return 0.0
    best = _point_seg2(ax, ay, cx, cy, dx, dy)
    best = min(best, _point_seg2(bx, by, cx, cy, dx, dy))
    best = min(best, _point_seg2(cx, cy, ax, ay, bx, by))
    return min(best, _point_seg2(dx, dy, ax, ay, bx, by))


@njit(cache=True, nogil=True, inline="always")
def _inside(px: float, py: float, ex0: Any, ey0: Any, ex1: Any, ey1: Any, e0: int, e1: int) -> bool:
    """Even-odd ray test of a point against edges ``e0:e1`` (all rings of one footprint)."""
    inside = False
    for e in range(e0, e1):
        y0 = ey0[e]
        y1 = ey1[e]
        if (y0 > py) != (y1 > py):
            x = ex0[e] + (py - y0) * (ex1[e] - ex0[e]) / (y1 - y0)
            if px < x:
                inside = not inside
    return inside


@njit(cache=True, nogil=True)
def grid_build(
    bx0: Any, by0: Any, bx1: Any, by1: Any, pad: float, gx0: float, gy0: float,
    cell: float, nx: int, ny: int,
) -> tuple[Any, Any]:  # fmt: skip
    """CSR lists of the footprints (bounding boxes enlarged by ``pad``) touching each cell."""
    nb = len(bx0)
    counts = np.zeros(nx * ny + 1, dtype=np.int64)
    for b in range(nb):
        c0 = max(0, math.floor((bx0[b] - pad - gx0) / cell))
        c1 = min(nx - 1, math.floor((bx1[b] + pad - gx0) / cell))
        r0 = max(0, math.floor((by0[b] - pad - gy0) / cell))
        r1 = min(ny - 1, math.floor((by1[b] + pad - gy0) / cell))
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                counts[r * nx + c + 1] += 1
    start = np.cumsum(counts)
    fill = start[:-1].copy()
    items = np.empty(start[-1], dtype=np.int32)
    for b in range(nb):
        c0 = max(0, math.floor((bx0[b] - pad - gx0) / cell))
        c1 = min(nx - 1, math.floor((bx1[b] + pad - gx0) / cell))
        r0 = max(0, math.floor((by0[b] - pad - gy0) / cell))
        r1 = min(ny - 1, math.floor((by1[b] + pad - gy0) / cell))
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                k = r * nx + c
                items[fill[k]] = b
                fill[k] += 1
    return start, items


@njit(cache=True, nogil=True, inline="always")
def _point_poly2_box(
    px: float, py: float, bx0: float, by0: float, bx1: float, by1: float,
    ex0: Any, ey0: Any, ex1: Any, ey1: Any, e0: int, e1: int,
) -> float:  # fmt: skip
    """Squared distance from a point to a footprint (0 inside); the ray test only runs for a
    point inside the footprint's bounding box."""
    if bx0 <= px <= bx1 and by0 <= py <= by1 and _inside(px, py, ex0, ey0, ex1, ey1, e0, e1):
        return 0.0
    best = math.inf
    for e in range(e0, e1):
        best = min(best, _point_seg2(px, py, ex0[e], ey0[e], ex1[e], ey1[e]))
    return best


@njit(cache=True, nogil=True)
def visits_query(
    x: Any, y: Any, seg_i: Any, seg_j: Any, seg_owner: Any,
    bx0: Any, by0: Any, bx1: Any, by1: Any, edge_start: Any,
    ex0: Any, ey0: Any, ex1: Any, ey1: Any,
    cell_start: Any, cell_items: Any, gx0: float, gy0: float, cell: float, nx: int, ny: int,
    d: float, out_owner: Any, out_building: Any, out_fix: Any, out_near2: Any,
) -> int:  # fmt: skip
    """Every (owner, footprint) pair where a segment of the owner passes within ``d`` of the
    footprint, with the fix among those segments' ends nearest the footprint (``out_near2``:
    its squared distance).

    Per candidate footprint the distances of the segment's two ends come first (the first
    end's is remembered from the previous segment, which ended there): an end within ``d``
    settles it; both ends further than ``d`` plus half the segment's length rule it out (no
    point of the segment is nearer than its nearer end minus half its length); only the rest
    need the segment–edge distances. Segments must be grouped by owner (a patrol). Writes
    into the ``out_*`` arrays and answers the number of pairs, or -1 when they are full
    (the caller retries with larger ones)."""
    nb = len(bx0)
    seen = np.full(nb, -1, dtype=np.int64)
    slot_owner = np.full(nb, -1, dtype=np.int64)
    slot = np.zeros(nb, dtype=np.int64)
    cache_fix = np.full(nb, -1, dtype=np.int64)
    cache_d2 = np.zeros(nb, dtype=np.float64)
    d2 = d * d
    n = 0
    cap = len(out_owner)
    for s in range(len(seg_i)):
        i = seg_i[s]
        j = seg_j[s]
        owner = seg_owner[s]
        ax = x[i]
        ay = y[i]
        bx = x[j]
        by = y[j]
        half = 0.5 * math.sqrt((bx - ax) ** 2 + (by - ay) ** 2)
        sx0 = min(ax, bx)
        sx1 = max(ax, bx)
        sy0 = min(ay, by)
        sy1 = max(ay, by)
        c0 = max(0, math.floor((sx0 - gx0) / cell))
        c1 = min(nx - 1, math.floor((sx1 - gx0) / cell))
        r0 = max(0, math.floor((sy0 - gy0) / cell))
        r1 = min(ny - 1, math.floor((sy1 - gy0) / cell))
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                k = r * nx + c
                for q in range(cell_start[k], cell_start[k + 1]):
                    b = cell_items[q]
                    if seen[b] == s:
                        continue
                    seen[b] = s
                    # the segment's box must come within d of the footprint's box
                    gx = max(0.0, max(bx0[b] - sx1, sx0 - bx1[b]))
                    gy = max(0.0, max(by0[b] - sy1, sy0 - by1[b]))
                    if gx * gx + gy * gy > d2:
                        continue
                    e0 = edge_start[b]
                    e1 = edge_start[b + 1]
                    if cache_fix[b] == i:
                        da = cache_d2[b]
                    else:
                        da = _point_poly2_box(
                            ax, ay, bx0[b], by0[b], bx1[b], by1[b], ex0, ey0, ex1, ey1, e0, e1
                        )
                    if j == i:
                        db = da
                    else:
                        db = _point_poly2_box(
                            bx, by, bx0[b], by0[b], bx1[b], by1[b], ex0, ey0, ex1, ey1, e0, e1
                        )
                    cache_fix[b] = j
                    cache_d2[b] = db
                    near = min(da, db)
                    if near > d2:
                        if math.sqrt(near) - half > d:
                            continue
                        best = math.inf
                        for e in range(e0, e1):
                            v = _seg_seg2(ax, ay, bx, by, ex0[e], ey0[e], ex1[e], ey1[e])
                            if v < best:
                                best = v
                                if best <= d2:
                                    break
                        if best > d2:
                            continue
                    fix = i if da <= db else j
                    if slot_owner[b] != owner:
                        if n >= cap:
                            return -1
                        slot_owner[b] = owner
                        slot[b] = n
                        out_owner[n] = owner
                        out_building[n] = b
                        out_fix[n] = fix
                        out_near2[n] = near
                        n += 1
                    else:
                        m = slot[b]
                        if near < out_near2[m]:
                            out_fix[m] = fix
                            out_near2[m] = near
    return n


# --- the local transverse Mercator of gis.crs.local_metric_crs, vectorised ------------------

_A = 6378137.0
_F = 1.0 / 298.257223563
_E2 = _F * (2.0 - _F)
_EP2 = _E2 / (1.0 - _E2)


@njit(cache=True, nogil=True, inline="always")
def _meridian(phi: float) -> float:
    e4 = _E2 * _E2
    e6 = e4 * _E2
    return _A * (
        (1.0 - _E2 / 4.0 - 3.0 * e4 / 64.0 - 5.0 * e6 / 256.0) * phi
        - (3.0 * _E2 / 8.0 + 3.0 * e4 / 32.0 + 45.0 * e6 / 1024.0) * math.sin(2.0 * phi)
        + (15.0 * e4 / 256.0 + 45.0 * e6 / 1024.0) * math.sin(4.0 * phi)
        - (35.0 * e6 / 3072.0) * math.sin(6.0 * phi)
    )


@njit(cache=True, nogil=True)
def tmerc(lon: Any, lat: Any, lon0: float, lat0: float) -> tuple[Any, Any]:
    """Transverse Mercator (WGS-84 ellipsoid, scale 1, centred on ``lon0, lat0``) of degree
    arrays, in metres: Snyder's series (USGS PP 1395, 8-9 to 8-10), within a millimetre of
    PROJ's ``+proj=tmerc`` for points within ~50 km of the centre."""
    n = len(lon)
    x = np.empty(n)
    y = np.empty(n)
    m0 = _meridian(lat0 * _DEG)
    for k in range(n):
        phi = lat[k] * _DEG
        s = math.sin(phi)
        c = math.cos(phi)
        t = s / c
        nn = _A / math.sqrt(1.0 - _E2 * s * s)
        tt = t * t
        cc = _EP2 * c * c
        a = (lon[k] - lon0) * _DEG * c
        a2 = a * a
        x[k] = nn * (
            a
            + (1.0 - tt + cc) * a * a2 / 6.0
            + (5.0 - 18.0 * tt + tt * tt + 72.0 * cc - 58.0 * _EP2) * a * a2 * a2 / 120.0
        )
        y[k] = (
            _meridian(phi)
            - m0
            + nn
            * t
            * (
                a2 / 2.0
                + (5.0 - tt + 9.0 * cc + 4.0 * cc * cc) * a2 * a2 / 24.0
                + (61.0 - 58.0 * tt + tt * tt + 600.0 * cc - 330.0 * _EP2) * a2 * a2 * a2 / 720.0
            )
        )
    return x, y
