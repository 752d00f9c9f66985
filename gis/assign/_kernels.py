"""Numba kernels behind :class:`gis.assign.engine.AreaIndex`: the first-level grid build.

Vocabulary shared with ``engine.py``:

* **edge**: one ring segment, stored "lower end first" (``y1 <= y2``; zero-length segments are
  dropped at build time), with the index of the area it belongs to.
* **grid**: ``nrows x ncols`` cells over the (slightly enlarged) data bounding box. The cell of
  a coordinate is ``clamp(floor((v - v0) * inv), 0, n - 1)``, a monotone function of ``v``;
  build and lookup use the very same function, which is what makes the cell classification
  conservative.
* **boundary cell**: a cell that some edge (clipped to the cell's row, enlarged by a margin far
  above rounding error) may touch. Consecutive boundary cells of a row form a **run**; every
  (edge, row) pair belongs to exactly one run.
* **uniform cell**: a cell no edge touches, so every point of it is covered by the same set of
  areas: its **label** (a row of a table of unique sorted area tuples; label 0 = no area).

Runs exist for the build only (the label sweep); lookups in boundary cells use the per-cell
edge lists and reference points of :mod:`gis.assign._refine`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

#: Shewchuk's ``ccwerrboundA`` for IEEE doubles (epsilon = 2**-53).
_EPS = 2.0**-53
ERRBOUND_A = (3.0 + 16.0 * _EPS) * _EPS

#: ``owner`` value pass 1 writes for a point it could not certify (resolved by the caller).
UNRESOLVED = -2


@njit(cache=True, nogil=True, inline="always")
def _cell_of(v: float, v0: float, inv: float, n: int) -> int:
    k = math.floor((v - v0) * inv)
    if k < 0:
        return 0
    if k >= n:
        return n - 1
    return k


# --------------------------------------------------------------------------------------------
# build
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def edge_row_spans(
    x1: Any,
    y1: Any,
    x2: Any,
    y2: Any,
    gx0: float,
    gy0: float,
    w: float,
    h: float,
    inv_w: float,
    inv_h: float,
    ncols: int,
    nrows: int,
    mx: float,
    my: float,
) -> Any:
    """Every (edge, row) pair with the conservative column span of the edge in that row.

    Returns ``(pair_edge, pair_row, pair_c0, pair_c1)`` (int32/int32/int32/int32 arrays), and
    marks nothing yet. ``mx``/``my`` are the margins added around each clipped piece.
    """
    n = x1.shape[0]
    total = 0
    for e in range(n):
        r0 = _cell_of(y1[e], gy0, inv_h, nrows)
        r1 = _cell_of(y2[e], gy0, inv_h, nrows)
        total += r1 - r0 + 1
    pe = np.empty(total, np.int32)
    pr = np.empty(total, np.int32)
    pc0 = np.empty(total, np.int32)
    pc1 = np.empty(total, np.int32)
    k = 0
    for e in range(n):
        ax = x1[e]
        ay = y1[e]
        bx = x2[e]
        by = y2[e]
        xmin = min(ax, bx)
        xmax = max(ax, bx)
        r0 = _cell_of(ay, gy0, inv_h, nrows)
        r1 = _cell_of(by, gy0, inv_h, nrows)
        for r in range(r0, r1 + 1):
            if r0 == r1 or ay == by:
                xa = xmin
                xb = xmax
            else:
                ylo = max(ay, gy0 + r * h - my)
                yhi = min(by, gy0 + (r + 1) * h + my)
                if ylo > yhi:
                    xa = xmin
                    xb = xmax
                else:
                    s = (bx - ax) / (by - ay)
                    xa = ax + (ylo - ay) * s
                    xb = ax + (yhi - ay) * s
                    if xa > xb:
                        xa, xb = xb, xa
                    xa = max(xa, xmin)
                    xb = min(xb, xmax)
            pe[k] = e
            pr[k] = r
            pc0[k] = _cell_of(xa - mx, gx0, inv_w, ncols)
            pc1[k] = _cell_of(xb + mx, gx0, inv_w, ncols)
            k += 1
    return pe, pr, pc0, pc1


@njit(cache=True, nogil=True)
def build_runs(
    pair_edge: Any,
    pair_row: Any,
    pair_c0: Any,
    pair_c1: Any,
    ncols: int,
    nrows: int,
) -> Any:
    """Mark boundary cells, group them into runs and hand each run its edges.

    Returns ``(cell, row_run_ptr, run_c0, run_c1, run_ptr, run_edges)``: ``cell`` holds
    ``-(run + 1)`` for boundary cells and 0 elsewhere (labels come later); runs are numbered
    row by row, left to right (``row_run_ptr`` is their CSR by row); ``run_edges`` lists edge
    indices per run (CSR ``run_ptr``).
    """
    ncell = nrows * ncols
    mark = np.zeros(ncell, np.uint8)
    npairs = pair_edge.shape[0]
    for p in range(npairs):
        base = pair_row[p] * ncols
        for c in range(pair_c0[p], pair_c1[p] + 1):
            mark[base + c] = 1
    cell = np.zeros(ncell, np.int32)
    nruns = 0
    for r in range(nrows):
        base = r * ncols
        c = 0
        while c < ncols:
            if mark[base + c]:
                nruns += 1
                while c < ncols and mark[base + c]:
                    c += 1
            else:
                c += 1
    row_run_ptr = np.zeros(nrows + 1, np.int64)
    run_c0 = np.empty(nruns, np.int32)
    run_c1 = np.empty(nruns, np.int32)
    k = 0
    for r in range(nrows):
        base = r * ncols
        c = 0
        while c < ncols:
            if mark[base + c]:
                run_c0[k] = c
                while c < ncols and mark[base + c]:
                    cell[base + c] = -(k + 1)
                    c += 1
                run_c1[k] = c - 1
                k += 1
            else:
                c += 1
        row_run_ptr[r + 1] = k
    counts = np.zeros(nruns + 1, np.int64)
    for p in range(npairs):
        run = -cell[pair_row[p] * ncols + pair_c0[p]] - 1
        counts[run + 1] += 1
    run_ptr = np.cumsum(counts)
    fill = run_ptr[:-1].copy()
    run_edges = np.empty(npairs, np.int32)
    for p in range(npairs):
        run = -cell[pair_row[p] * ncols + pair_c0[p]] - 1
        run_edges[fill[run]] = pair_edge[p]
        fill[run] += 1
    return cell, row_run_ptr, run_c0, run_c1, run_ptr, run_edges


@njit(cache=True, nogil=True)
def label_cells(
    cell: Any,
    row_run_ptr: Any,
    run_c0: Any,
    run_c1: Any,
    run_ptr: Any,
    ey1: Any,
    ey2: Any,
    earea: Any,
    gy0: float,
    h: float,
    ncols: int,
    nrows: int,
    n_areas: int,
    zobrist: Any,
) -> Any:
    """Label every uniform cell with the set of areas covering it, and every run with the label
    of the uniform stretch right after it.

    Sweeps each row from right to left along its centre line, toggling an area whenever one of
    its edges crosses the line (half-open rule); crossings inside a run all lie inside that
    run, so the state between runs is exact with no orientation test at all. Sets are
    deduplicated through a Zobrist hash table, verified member by member.

    Writes labels into ``cell`` (uniform cells), returns
    ``(status, run_label, lab_ptr, lab_members)``; ``status`` is 0, or 1 on a hash collision
    (retry with another ``zobrist``), or 2 if a row's parity did not close (a bug, or rings
    that are not closed).
    """
    nruns = run_c0.shape[0]
    run_label = np.zeros(nruns, np.int32)
    # hash table of labels
    nslots = 16
    while nslots < 4 * (nruns + nrows + 2):
        nslots *= 2
    mask = nslots - 1
    slot_label = np.full(nslots, -1, np.int32)
    slot_key = np.zeros(nslots, np.uint64)
    lab_cap = 1024
    lab_ptr = np.zeros(lab_cap + 1, np.int64)
    mem_cap = 4096
    lab_members = np.empty(mem_cap, np.int32)
    nlab = 1  # label 0 = empty set, pre-inserted at slot 0 (key 0)
    slot_label[0] = 0
    # state
    inset = np.zeros(n_areas, np.uint8)
    active = np.empty(n_areas, np.int32)
    pos = np.full(n_areas, -1, np.int32)
    nactive = 0
    key = np.uint64(0)
    for r in range(nrows):
        yc = gy0 + (r + 0.5) * h
        base = r * ncols
        c_right = ncols
        for k in range(row_run_ptr[r + 1] - 1, row_run_ptr[r] - 1, -1):
            # --- find / insert the label of the current state
            slot = np.int64(key & np.uint64(mask))
            lab = -1
            while True:
                s = slot_label[slot]
                if s < 0:
                    break
                if slot_key[slot] == key:
                    lab = s
                    break
                slot = (slot + 1) & mask
            if lab >= 0:
                if lab_ptr[lab + 1] - lab_ptr[lab] != nactive:
                    return 1, run_label, lab_ptr[: nlab + 1], lab_members[: lab_ptr[nlab]]
                for j in range(lab_ptr[lab], lab_ptr[lab + 1]):
                    if inset[lab_members[j]] == 0:
                        return 1, run_label, lab_ptr[: nlab + 1], lab_members[: lab_ptr[nlab]]
            else:
                lab = nlab
                if nlab + 1 > lab_cap:
                    new_ptr = np.zeros(2 * lab_cap + 1, np.int64)
                    new_ptr[: lab_cap + 1] = lab_ptr
                    lab_ptr = new_ptr
                    lab_cap *= 2
                start = lab_ptr[nlab]
                if start + nactive > mem_cap:
                    new_mem = np.empty(max(2 * mem_cap, start + nactive), np.int32)
                    new_mem[:start] = lab_members[:start]
                    lab_members = new_mem
                    mem_cap = new_mem.shape[0]
                srt = np.sort(active[:nactive])
                for j in range(nactive):
                    lab_members[start + j] = srt[j]
                lab_ptr[nlab + 1] = start + nactive
                nlab += 1
                slot_label[slot] = lab
                slot_key[slot] = key
            # --- the uniform stretch right of run k, and the run's right label
            for c in range(run_c1[k] + 1, c_right):
                cell[base + c] = lab
            run_label[k] = lab
            c_right = run_c0[k]
            # --- cross run k
            for j in range(run_ptr[k], run_ptr[k + 1]):
                e = j  # run_ptr indexes the per-run edge copies directly
                if ey1[e] <= yc < ey2[e]:
                    a = earea[e]
                    key ^= zobrist[a]
                    if inset[a]:
                        inset[a] = 0
                        p = pos[a]
                        last = active[nactive - 1]
                        active[p] = last
                        pos[last] = p
                        pos[a] = -1
                        nactive -= 1
                    else:
                        inset[a] = 1
                        pos[a] = nactive
                        active[nactive] = a
                        nactive += 1
        if nactive != 0:
            return 2, run_label, lab_ptr[: nlab + 1], lab_members[: lab_ptr[nlab]]
        for c in range(c_right):
            cell[base + c] = 0
    return 0, run_label, lab_ptr[: nlab + 1], lab_members[: lab_ptr[nlab]]
