"""Per-cell edge lists with certified reference points, and a second-level grid in dense cells
(numba kernels behind :class:`gis.assign.engine.AreaIndex`).

Why: the first-level grid is capped at ~1M cells, so on city-size layers (100,000 polygons,
1M vertices) or hostile ones (thousands of long strips, a far exclave squeezing the data into
a few cells, a 1M-vertex ring) most cells are boundary cells, and a ray cast across a whole run
of them scans hundreds or thousands of edges.

How: every boundary cell (a **node**) gets the list of edges that may touch it (the same
conservative spans as the runs) and a **reference point** ``r`` on the row's centre line whose
covering set is known exactly: the row is swept right to left, and an edge whose span lies
right of the cell has crossed, while for the cell's own edges the side of ``r`` is certified
with Shewchuk's bound A (no candidate certifies: the node keeps the old run scan). A point
``p`` in the cell is then covered by the reference set XOR the areas of the list's edges that
the segment ``p -> r`` properly crosses; every orientation is certified, and any uncertain one
(``p`` on or within ulps of an edge, the segment through a vertex) sends ``p`` to GEOS.

A node with more than ``DENSE`` edges is split by a ``k x k`` sub-grid (``k <= KMAX``): a
sub-cell no edge touches holds its covering set outright; the others become nodes with their
own (shorter) lists and reference points, whose sets are derived from the parent's reference
point by the same certified segment test. A sub-cell whose state cannot be certified falls
back to its parent node (still exact, only slower).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from gis.assign._kernels import ERRBOUND_A, UNRESOLVED, _cell_of, edge_row_spans

#: a node with more edges than this gets a sub-grid
DENSE = 24
#: most sub-cells per side
KMAX = 48
#: where reference points are tried, as fractions of the cell (not dyadic: data on dyadic
#: grids would otherwise hit them exactly)
_FRACS = (0.5123456789, 0.3183098862, 0.7071067812, 0.1414213562, 0.8862269255)


@njit(cache=True, nogil=True, inline="always")
def _orient(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """Sign of the orientation of (a, b, c): 1, -1, or 0 when not certified by bound A."""
    dl = (ax - cx) * (by - cy)
    dr = (ay - cy) * (bx - cx)
    det = dl - dr
    if abs(det) <= ERRBOUND_A * (abs(dl) + abs(dr)):
        return 0
    return 1 if det > 0.0 else -1


@njit(cache=True, nogil=True, inline="always")
def crosses_ref(
    px: float,
    py: float,
    rx: float,
    ry: float,
    ax: float,
    ay: float,
    bx: float,
    by: float,
    side_r: int,
) -> int:
    """1 if segment p-r properly crosses edge a-b, 0 if certainly not, -1 if uncertain;
    ``side_r = _orient(a, b, r)`` is given (a record's reference point is fixed, so it is
    kept per listed edge): most edges are then settled by one orientation, ``p`` strictly on
    the same side of the edge's line as ``r`` (then the segment cannot meet the edge)."""
    if max(ax, bx) < min(px, rx) or min(ax, bx) > max(px, rx):
        return 0
    if max(ay, by) < min(py, ry) or min(ay, by) > max(py, ry):
        return 0
    o3 = _orient(ax, ay, bx, by, px, py)
    if o3 != 0 and o3 == side_r:
        return 0
    o1 = _orient(px, py, rx, ry, ax, ay)
    o2 = _orient(px, py, rx, ry, bx, by)
    if o1 != 0 and o1 == o2:
        return 0
    if o1 == 0 or o2 == 0 or o3 == 0 or side_r == 0:
        return -1
    return 1  # o3 and side_r are certified and differ


@njit(cache=True, nogil=True, inline="always")
def crosses(
    px: float, py: float, rx: float, ry: float, ax: float, ay: float, bx: float, by: float
) -> int:
    """1 if segment p-r properly crosses edge a-b, 0 if certainly not, -1 if uncertain."""
    return crosses_ref(px, py, rx, ry, ax, ay, bx, by, _orient(ax, ay, bx, by, rx, ry))


# --------------------------------------------------------------------------------------------
# growable arrays (numba has no realloc)
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _grow(a: Any, need: int) -> Any:
    """``a`` with room for ``need`` items (doubled when it must grow)."""
    if need <= a.shape[0]:
        return a
    out = np.empty(max(need, 2 * a.shape[0]), a.dtype)
    out[: a.shape[0]] = a
    return out


# --------------------------------------------------------------------------------------------
# level 0: boundary cells -> nodes with edge lists and reference points
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def cell_lists(
    pair_edge: Any, pair_row: Any, pair_c0: Any, pair_c1: Any, cell: Any, ncols: int
) -> Any:
    """Number the boundary cells (``cell`` becomes ``-(node + 1)``) and list their edges.

    Returns ``(node_run, node_cell, lst_ptr, lst_edge)``.
    """
    nb = 0
    for i in range(cell.shape[0]):
        if cell[i] < 0:
            nb += 1
    node_run = np.empty(nb, np.int32)
    node_cell = np.empty(nb, np.int64)
    b = 0
    for i in range(cell.shape[0]):
        if cell[i] < 0:
            node_run[b] = -cell[i] - 1
            node_cell[b] = i
            cell[i] = -(b + 1)
            b += 1
    counts = np.zeros(nb + 1, np.int64)
    for p in range(pair_edge.shape[0]):
        base = pair_row[p] * ncols
        for c in range(pair_c0[p], pair_c1[p] + 1):
            counts[-cell[base + c]] += 1
    lst_ptr = np.cumsum(counts)
    fill = lst_ptr[:-1].copy()
    lst_edge = np.empty(lst_ptr[nb], np.int32)
    for p in range(pair_edge.shape[0]):
        base = pair_row[p] * ncols
        for c in range(pair_c0[p], pair_c1[p] + 1):
            n = -cell[base + c] - 1
            lst_edge[fill[n]] = pair_edge[p]
            fill[n] += 1
    return node_run, node_cell, lst_ptr, lst_edge


@njit(cache=True, nogil=True, inline="always")
def _toggle(a: int, inset: Any, active: Any, pos: Any, nactive: int) -> int:
    if inset[a]:
        inset[a] = 0
        p = pos[a]
        last = active[nactive - 1]
        active[p] = last
        pos[last] = p
        pos[a] = -1
        return nactive - 1
    inset[a] = 1
    pos[a] = nactive
    active[nactive] = a
    return nactive + 1


@njit(cache=True, nogil=True)
def level0_refs(
    pair_edge: Any,
    pair_row: Any,
    pair_c0: Any,
    cell: Any,
    lst_ptr: Any,
    lst_edge: Any,
    x1: Any,
    y1: Any,
    x2: Any,
    y2: Any,
    area: Any,
    gx0: float,
    gy0: float,
    w: float,
    h: float,
    ncols: int,
    nrows: int,
    n_areas: int,
) -> Any:
    """Reference point and covering set of every level-0 node, by a right-to-left sweep of
    each row's centre line.

    Returns ``(status, node_rx, node_ry, node_set, set_ptr, set_members)``; ``node_set`` is
    -1 where no candidate point could be certified. ``status`` 2: a row did not close.
    """
    nb = lst_ptr.shape[0] - 1
    node_rx = np.full(nb, np.nan)
    node_ry = np.full(nb, np.nan)
    node_set = np.full(nb, -1, np.int32)
    set_ptr = np.zeros(nb + 1, np.int64)
    set_members = np.empty(max(nb, 16), np.int32)
    nsets = 0
    inset = np.zeros(n_areas, np.uint8)
    active = np.empty(n_areas, np.int32)
    pos = np.full(n_areas, -1, np.int32)
    tmp = np.empty(lst_edge.shape[0] + 1, np.int32)
    nactive = 0
    # the areas of the pairs crossing their row's centre line, bucketed by (row, c0)
    ncell = nrows * ncols
    bucket = np.zeros(ncell + 1, np.int64)
    for p in range(pair_edge.shape[0]):
        e = pair_edge[p]
        yc = gy0 + (pair_row[p] + 0.5) * h
        if y1[e] <= yc < y2[e]:
            bucket[pair_row[p] * ncols + pair_c0[p] + 1] += 1
    for c in range(ncell):
        bucket[c + 1] += bucket[c]
    fill = bucket[:-1].copy()
    cross_area = np.empty(bucket[ncell], np.int32)
    for p in range(pair_edge.shape[0]):
        e = pair_edge[p]
        yc = gy0 + (pair_row[p] + 0.5) * h
        if y1[e] <= yc < y2[e]:
            k = pair_row[p] * ncols + pair_c0[p]
            cross_area[fill[k]] = area[e]
            fill[k] += 1
    for r in range(nrows):
        yc = gy0 + (r + 0.5) * h
        base = r * ncols
        for c in range(ncols - 1, -1, -1):
            if c + 1 < ncols:  # pairs starting right of cell c have crossed
                for j in range(bucket[base + c + 1], bucket[base + c + 2]):
                    nactive = _toggle(cross_area[j], inset, active, pos, nactive)
            v = cell[base + c]
            if v >= 0:
                continue
            node = -v - 1
            for f in _FRACS:
                xr = gx0 + (c + f) * w
                ok = True
                nt = 0
                for j in range(lst_ptr[node], lst_ptr[node + 1]):
                    e = lst_edge[j]
                    ax, ay, bx, by = x1[e], y1[e], x2[e], y2[e]
                    on_box = min(ax, bx) <= xr <= max(ax, bx) and ay <= yc <= by
                    if on_box and _orient(ax, ay, bx, by, xr, yc) == 0:
                        ok = False
                        break
                    if ay <= yc < by:
                        if xr < min(ax, bx):
                            tmp[nt] = area[e]
                            nt += 1
                        else:
                            s = _orient(ax, ay, bx, by, xr, yc)
                            if s == 0:
                                ok = False
                                break
                            if s > 0:
                                tmp[nt] = area[e]
                                nt += 1
                if not ok:
                    continue
                for j in range(nt):
                    nactive = _toggle(tmp[j], inset, active, pos, nactive)
                start = set_ptr[nsets]
                set_members = _grow(set_members, start + nactive)
                for j in range(nactive):  # insertion sort: sets hold a few areas
                    a = active[j]
                    m = start + j
                    while m > start and set_members[m - 1] > a:
                        set_members[m] = set_members[m - 1]
                        m -= 1
                    set_members[m] = a
                set_ptr[nsets + 1] = start + nactive
                for j in range(nt):
                    nactive = _toggle(tmp[j], inset, active, pos, nactive)
                node_rx[node] = xr
                node_ry[node] = yc
                node_set[node] = nsets
                nsets += 1
                break
        for j in range(bucket[base], bucket[base + 1]):  # pairs starting in column 0
            nactive = _toggle(cross_area[j], inset, active, pos, nactive)
        if nactive != 0:
            return 2, node_rx, node_ry, node_set, set_ptr[: nsets + 1], set_members
    return 0, node_rx, node_ry, node_set, set_ptr[: nsets + 1], set_members[: set_ptr[nsets]]


# --------------------------------------------------------------------------------------------
# level 1: sub-grids in dense nodes
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _derive(
    sx: float,
    sy: float,
    node: int,
    lst_ptr: Any,
    lst_edge: Any,
    x1: Any,
    y1: Any,
    x2: Any,
    y2: Any,
    area: Any,
    node_rx: Any,
    node_ry: Any,
    node_set: Any,
    set_ptr: Any,
    set_members: Any,
    par: Any,
    touched: Any,
    out: Any,
) -> int:
    """Covering set of point (sx, sy) inside ``node``'s cell, from the node's reference point;
    written sorted to ``out``; returns its size, or -1 if not certified."""
    rx = node_rx[node]
    ry = node_ry[node]
    nt = 0
    for j in range(lst_ptr[node], lst_ptr[node + 1]):
        e = lst_edge[j]
        k = crosses(sx, sy, rx, ry, x1[e], y1[e], x2[e], y2[e])
        if k < 0:
            for t in range(nt):
                par[touched[t]] = 0
            return -1
        if k:
            a = area[e]
            if par[a] == 0:  # bit 0: listed in touched, bit 1: parity
                touched[nt] = a
                nt += 1
                par[a] = 1
            par[a] ^= 2
    s = node_set[node]
    for j in range(set_ptr[s], set_ptr[s + 1]):
        a = set_members[j]
        if par[a] == 0:
            touched[nt] = a
            nt += 1
            par[a] = 1
        par[a] ^= 2
    m = 0
    for t in range(nt):
        a = touched[t]
        if par[a] & 2:
            out[m] = a
            m += 1
        par[a] = 0
    out[:m].sort()
    return m


@njit(cache=True, nogil=True)
def refine(
    lst_ptr: Any,
    lst_edge: Any,
    node_cell: Any,
    node_rx: Any,
    node_ry: Any,
    node_set: Any,
    set_ptr: Any,
    set_members: Any,
    x1: Any,
    y1: Any,
    x2: Any,
    y2: Any,
    area: Any,
    gx0: float,
    gy0: float,
    w: float,
    h: float,
    ncols: int,
    m_abs: float,
    n_areas: int,
) -> Any:
    """Sub-grids for the dense level-0 nodes (see the module docstring).

    Returns the extended ``(lst_ptr, lst_edge, node_rx, node_ry, node_set, set_ptr,
    set_members)`` plus ``(sub_base, sub_k, sub_val)``: node ``b`` < the number of level-0
    nodes has a ``sub_k[b] x sub_k[b]`` sub-grid at ``sub_val[sub_base[b]:]`` when
    ``sub_k[b] > 0``; a sub-cell value ``v >= 0`` is a covering set, ``-1`` means "use the
    parent node", ``v <= -2`` is the node ``-v - 2``.
    """
    nb = lst_ptr.shape[0] - 1
    nsets = set_ptr.shape[0] - 1
    sub_base = np.full(nb, -1, np.int64)
    sub_k = np.zeros(nb, np.int32)
    sub_val = np.empty(16, np.int32)
    nsub = 0
    dense = False
    for b in range(nb):
        if lst_ptr[b + 1] - lst_ptr[b] > DENSE and node_set[b] >= 0:
            dense = True
            break
    if not dense:  # nothing to refine: no copies (they would raise the build's peak memory)
        return (lst_ptr, lst_edge, node_rx, node_ry, node_set, set_ptr, set_members, sub_base,
                sub_k, sub_val[:0].copy())  # fmt: skip
    # growable copies
    cap_nodes = nb + 16
    lp = np.empty(cap_nodes + 1, np.int64)
    lp[: nb + 1] = lst_ptr
    le = lst_edge.copy()
    nrx = np.empty(cap_nodes, np.float64)
    nry = np.empty(cap_nodes, np.float64)
    nst = np.empty(cap_nodes, np.int32)
    nrx[:nb] = node_rx
    nry[:nb] = node_ry
    nst[:nb] = node_set
    sp = np.empty(nsets + 16 + 1, np.int64)
    sp[: nsets + 1] = set_ptr
    sm = set_members.copy()
    nnodes = nb
    par = np.zeros(n_areas, np.uint8)
    touched = np.empty(n_areas + 1, np.int32)
    out = np.empty(n_areas + 1, np.int32)
    for b in range(nb):
        n_edges = lst_ptr[b + 1] - lst_ptr[b]
        if n_edges <= DENSE or node_set[b] < 0:
            continue
        k = min(KMAX, math.ceil(math.sqrt(n_edges / 2.0)))
        if k < 2:
            continue
        row = node_cell[b] // ncols
        col = node_cell[b] - row * ncols
        sx0 = gx0 + col * w
        sy0 = gy0 + row * h
        sw = w / k
        sh = h / k
        mx = max(1e-6 * sw, m_abs)
        my = max(1e-6 * sh, m_abs)
        sub = lst_edge[lst_ptr[b] : lst_ptr[b + 1]]
        pe, pr, pc0, pc1 = edge_row_spans(
            x1[sub], y1[sub], x2[sub], y2[sub], sx0, sy0, sw, sh, k / w, k / h, k, k, mx, my
        )
        counts = np.zeros(k * k + 1, np.int64)
        for p in range(pe.shape[0]):
            for c in range(pc0[p], pc1[p] + 1):
                counts[pr[p] * k + c + 1] += 1
        cptr = np.cumsum(counts)
        fill = cptr[:-1].copy()
        cedge = np.empty(cptr[k * k], np.int32)
        for p in range(pe.shape[0]):
            for c in range(pc0[p], pc1[p] + 1):
                j = pr[p] * k + c
                cedge[fill[j]] = sub[pe[p]]
                fill[j] += 1
        sub_val = _grow(sub_val, nsub + k * k)
        sub_base[b] = nsub
        sub_k[b] = k
        for j in range(k * k):
            sr = j // k
            sc = j - sr * k
            n_sub_edges = cptr[j + 1] - cptr[j]
            value = -1
            for f in _FRACS:
                px = sx0 + (sc + f) * sw
                py = sy0 + (sr + f) * sh
                if n_sub_edges:
                    # the reference point must not lie on one of the sub-cell's edges
                    on = False
                    for t in range(cptr[j], cptr[j + 1]):
                        e = cedge[t]
                        ax, ay, bx, by = x1[e], y1[e], x2[e], y2[e]
                        inside = min(ax, bx) <= px <= max(ax, bx) and ay <= py <= by
                        if inside and _orient(ax, ay, bx, by, px, py) == 0:
                            on = True
                            break
                    if on:
                        continue
                m = _derive(
                    px, py, b, lst_ptr, lst_edge, x1, y1, x2, y2, area, node_rx, node_ry,
                    node_set, set_ptr, set_members, par, touched, out,
                )  # fmt: skip
                if m < 0:
                    continue
                # store the set
                sp = _grow(sp, nsets + 2)
                start = sp[nsets]
                sm = _grow(sm, start + m)
                sm[start : start + m] = out[:m]
                sp[nsets + 1] = start + m
                sid = nsets
                nsets += 1
                if n_sub_edges == 0:
                    value = sid
                else:
                    if nnodes + 1 > nrx.shape[0]:
                        nrx = _grow(nrx, nnodes + 1)
                        nry = _grow(nry, nnodes + 1)
                        nst = _grow(nst, nnodes + 1)
                    lp = _grow(lp, nnodes + 2)
                    le = _grow(le, lp[nnodes] + n_sub_edges)
                    le[lp[nnodes] : lp[nnodes] + n_sub_edges] = cedge[cptr[j] : cptr[j + 1]]
                    lp[nnodes + 1] = lp[nnodes] + n_sub_edges
                    nrx[nnodes] = px
                    nry[nnodes] = py
                    nst[nnodes] = sid
                    value = -(nnodes + 2)
                    nnodes += 1
                break
            sub_val[nsub + j] = value
        nsub += k * k
    return (
        lp[: nnodes + 1].copy(),
        le[: lp[nnodes]].copy(),
        nrx[:nnodes].copy(),
        nry[:nnodes].copy(),
        nst[:nnodes].copy(),
        sp[: nsets + 1].copy(),
        sm[: sp[nsets]].copy(),
        sub_base,
        sub_k,
        sub_val[:nsub].copy(),
    )


# --------------------------------------------------------------------------------------------
# lookup
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, inline="always")
def _flip(a: int, touched: Any, tpar: Any, nt: int) -> int:
    """Toggle area ``a`` in the point's short list (linear search: the list holds a handful
    of areas, and a global per-area scratch array would cost a cache miss per area)."""
    for j in range(nt):
        if touched[j] == a:
            tpar[j] ^= 1
            return nt
    touched[nt] = a
    tpar[nt] = 1
    return nt + 1


#: header doubles per node record: reference point x, y, list length, set length (or, for a
#: node with a sub-grid, ``-(s + 1)`` with ``s`` its row in the sub-grid tables)
_HEAD = 4


@njit(cache=True, nogil=True)
def pack_nodes(
    cell: Any,
    node_cell: Any,
    lst_ptr: Any,
    lst_edge: Any,
    E: Any,
    rx: Any,
    ry: Any,
    rset: Any,
    set_ptr: Any,
    set_members: Any,
    sub_base: Any,
    sub_k: Any,
    sub_val: Any,
    gx0: float,
    gy0: float,
    w: float,
    h: float,
    ncols: int,
) -> Any:
    """The refinement as the lookup reads it: each node is ONE record in a float64 array, so
    a point in a boundary cell costs one or two cache lines after the cell itself.

    Record at offset ``o``: ``rx, ry`` (NaN: no certified reference point), the list length
    ``nl``, the set length ``ns`` (or ``-(s + 1)``: the node has sub-grid ``s``), then ``nl``
    edges (x1, y1, x2, y2), their ``nl`` areas as ``4 * area + side + 1`` (``side``: the
    reference point's orientation to the edge, 0 if not certified), and the ``ns`` areas of
    the reference set;
    integers are stored exactly as doubles. ``E``: the edges (x1, y1, x2, y2, area), one row
    each, so a listed edge costs one cache line here. ``cell`` is rewritten in place: a
    boundary cell holds ``-(o + 1)``. ``sub_val`` is rewritten too: a sub-cell's node is
    ``-(o + 2)``.

    Returns ``(B, SI, SF, sub_val, set_ptr, set_members)`` with ``SI[s] = (sub-grid base,
    k, parent's set length, first-level cell)`` and ``SF[s] = (x0, y0, k / w, k / h)``.
    Raises ``ValueError`` if the records would not fit ``int32`` offsets (16 GB).
    """
    n = rx.shape[0]
    nb = sub_k.shape[0]
    off = np.empty(n + 1, np.int64)
    off[0] = 0
    for t in range(n):
        ns = set_ptr[rset[t] + 1] - set_ptr[rset[t]] if rset[t] >= 0 else 0
        off[t + 1] = off[t] + _HEAD + 5 * (lst_ptr[t + 1] - lst_ptr[t]) + ns
    if off[n] >= 2**31 - 2:
        raise ValueError("area index too large: node records exceed 2**31 doubles")
    B = np.empty(off[n], np.float64)
    n_sub = 0
    for b in range(nb):
        if sub_k[b] > 0:
            n_sub += 1
    SI = np.empty((n_sub, 4), np.int64)
    SF = np.empty((n_sub, 4), np.float64)
    s = 0
    for t in range(n):
        o = off[t]
        nl = lst_ptr[t + 1] - lst_ptr[t]
        ns = set_ptr[rset[t] + 1] - set_ptr[rset[t]] if rset[t] >= 0 else 0
        B[o] = rx[t] if rset[t] >= 0 else np.nan
        B[o + 1] = ry[t]
        nsr = rset[t] >= 0  # a reference point: each edge keeps the side it lies on
        B[o + 2] = nl
        B[o + 3] = ns
        if t < nb and sub_k[t] > 0:
            k = sub_k[t]
            row = node_cell[t] // ncols
            col = node_cell[t] - row * ncols
            SI[s, 0] = sub_base[t]
            SI[s, 1] = k
            SI[s, 2] = ns
            SI[s, 3] = node_cell[t]
            SF[s, 0] = gx0 + col * w
            SF[s, 1] = gy0 + row * h
            SF[s, 2] = k / w
            SF[s, 3] = k / h
            B[o + 3] = -(s + 1)
            s += 1
        e = o + _HEAD
        for j in range(nl):
            g = lst_edge[lst_ptr[t] + j]
            B[e + 4 * j] = E[g, 0]
            B[e + 4 * j + 1] = E[g, 1]
            B[e + 4 * j + 2] = E[g, 2]
            B[e + 4 * j + 3] = E[g, 3]
            side = _orient(E[g, 0], E[g, 1], E[g, 2], E[g, 3], B[o], B[o + 1]) if nsr else 0
            B[e + 4 * nl + j] = 4.0 * E[g, 4] + (side + 1)
        if ns:
            for j in range(ns):
                B[e + 5 * nl + j] = set_members[set_ptr[rset[t]] + j]
    for b in range(nb):
        cell[node_cell[b]] = -(off[b] + 1)
    sv = sub_val.copy()
    for j in range(sv.shape[0]):
        if sv[j] <= -2:
            sv[j] = -(off[-sv[j] - 2] + 2)
    return B, SI, SF, sv, set_ptr, set_members


@njit(cache=True, nogil=True, inline="always")
def eval_point(x: float, y: float, o: int, R: Any, touched: Any, tpar: Any) -> int:
    """Covering set of a point in the boundary cell whose node record is at ``o``: areas
    ``touched[j]`` with ``tpar[j]`` 1 cover it; returns the number of ``touched`` entries, or
    -1 if uncertain (GEOS then decides). ``R``: :func:`pack_nodes`'s tuple."""
    B, SI, SF, sub_val, set_ptr, set_members = R
    f = B[o + 3]
    nt = 0
    if f < 0.0:  # a sub-grid
        s = int(-f) - 1
        k = SI[s, 1]
        v = sub_val[SI[s, 0] + _cell_of(y, SF[s, 1], SF[s, 3], k) * k
                    + _cell_of(x, SF[s, 0], SF[s, 2], k)]  # fmt: skip
        if v >= 0:  # a uniform sub-cell
            for j in range(set_ptr[v], set_ptr[v + 1]):
                touched[nt] = set_members[j]
                tpar[nt] = 1
                nt += 1
            return nt
        if v <= -2:
            o = -v - 2
            f = B[o + 3]
        else:
            f = SI[s, 2]
    rx = B[o]
    if rx != rx:  # no certified reference point (rare)
        return -1
    ry = B[o + 1]
    nl = int(B[o + 2])
    ns = int(f)
    e = o + _HEAD
    for j in range(nl):
        q = e + 4 * j
        code = int(B[e + 4 * nl + j])  # area * 4 + side of the reference point + 1
        c = crosses_ref(x, y, rx, ry, B[q], B[q + 1], B[q + 2], B[q + 3], (code & 3) - 1)
        if c < 0:
            return -1
        if c:
            nt = _flip(code >> 2, touched, tpar, nt)
    for j in range(ns):
        nt = _flip(int(B[e + 5 * nl + j]), touched, tpar, nt)
    return nt


@njit(cache=True, nogil=True)
def lookup_pass1(
    lon: Any,
    lat: Any,
    gx1: float,
    gy1: float,
    inv_w: float,
    inv_h: float,
    nrows: int,
    cell: Any,
    lab_ptr: Any,
    lab_owner: Any,
    n_areas: int,
    max_touch: int,
    G: Any,
    R: Any,
    owner: Any,
    count: Any,
) -> int:
    """Owner (smallest covering index, -1 none, ``UNRESOLVED``) and covering count per point.

    Two sweeps: points in uniform cells are answered at once (a short loop, so the CPU
    overlaps their memory reads); points in boundary cells are then evaluated in cell order
    (a counting sort over buckets of cells), so each node's record is read from cache.
    Returns the number of unresolved points.
    """
    gx0, gy0, ncols = G[0], G[1], G[4]
    n = lon.shape[0]
    bpt = np.empty(n, np.int64)
    bcell = np.empty(n, np.int64)
    nb = 0
    for i in range(n):
        x = lon[i]
        y = lat[i]
        if not (x >= gx0 and x <= gx1 and y >= gy0 and y <= gy1):
            owner[i] = -1
            count[i] = 0
            continue
        c = _cell_of(y, gy0, inv_h, nrows) * ncols + _cell_of(x, gx0, inv_w, ncols)
        v = cell[c]
        if v >= 0:
            owner[i] = lab_owner[v]
            count[i] = lab_ptr[v + 1] - lab_ptr[v]
        else:
            bpt[nb] = i
            bcell[nb] = c
            nb += 1
    # the boundary points, copied in cell order (a counting sort over buckets of 2**shift
    # consecutive cells, no more buckets than points): the second sweep then reads points
    # and node records sequentially
    shift = 0
    while (ncols * nrows) >> shift > max(nb, 1024):
        shift += 1
    nbucket = ((ncols * nrows) >> shift) + 1
    start = np.zeros(nbucket + 1, np.int64)
    for q in range(nb):
        start[(bcell[q] >> shift) + 1] += 1
    for k in range(nbucket):
        start[k + 1] += start[k]
    si = np.empty(nb, np.int64)  # point index
    sx = np.empty(nb, np.float64)
    sy = np.empty(nb, np.float64)
    so = np.empty(nb, np.int64)  # offset of its cell's record
    for q in range(nb):
        k = bcell[q] >> shift
        d = start[k]
        start[k] = d + 1
        i = bpt[q]
        si[d] = i
        sx[d] = lon[i]
        sy[d] = lat[i]
        so[d] = -cell[bcell[q]] - 1
    touched = np.empty(max_touch, np.int32)
    tpar = np.empty(max_touch, np.uint8)
    s_owner = np.empty(nb, np.int32)
    s_count = np.empty(nb, np.int64)
    n_unresolved = 0
    for q in range(nb):
        nt = eval_point(sx[q], sy[q], so[q], R, touched, tpar)
        if nt < 0:
            s_owner[q] = UNRESOLVED
            s_count[q] = 0
            n_unresolved += 1
            continue
        best = -1
        m = 0
        for j in range(nt):
            a = touched[j]
            if tpar[j]:
                m += 1
                if best < 0 or a < best:
                    best = a
        s_owner[q] = best
        s_count[q] = m
    # scattered back in a loop of its own, so the CPU overlaps the cache misses
    for q in range(nb):
        i = si[q]
        owner[i] = s_owner[q]
        count[i] = s_count[q]
    return n_unresolved


@njit(cache=True, nogil=True)
def lookup_pass2(
    lon: Any,
    lat: Any,
    inv_w: float,
    inv_h: float,
    nrows: int,
    cell: Any,
    lab_ptr: Any,
    lab_members: Any,
    n_areas: int,
    max_touch: int,
    G: Any,
    R: Any,
    owner: Any,
    indptr: Any,
    indices: Any,
) -> None:
    """Fill the CSR ``indices`` (sorted covering areas) for every resolved point."""
    gx0, gy0, ncols = G[0], G[1], G[4]
    touched = np.empty(max_touch, np.int32)
    tpar = np.empty(max_touch, np.uint8)
    for i in range(lon.shape[0]):
        o = owner[i]
        if o < 0:
            continue
        a0 = indptr[i]
        m = indptr[i + 1] - a0
        if m == 1:
            indices[a0] = o
            continue
        x = lon[i]
        y = lat[i]
        v = cell[_cell_of(y, gy0, inv_h, nrows) * ncols + _cell_of(x, gx0, inv_w, ncols)]
        if v >= 0:
            for j in range(m):
                indices[a0 + j] = lab_members[lab_ptr[v] + j]
            continue
        nt = eval_point(x, y, -v - 1, R, touched, tpar)
        p = a0
        for j in range(nt):
            if tpar[j]:
                indices[p] = touched[j]
                p += 1
        indices[a0 : a0 + m].sort()
