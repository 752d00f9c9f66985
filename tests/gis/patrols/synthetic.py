"""Synthetic footprints and walks in local metres, shared by the patrol tests and the bench."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely


def footprints(rng: np.random.Generator, n: int, extent_m: float) -> npt.NDArray[np.object_]:
    """``n`` footprints in a square of ``extent_m``: rotated slabs, some with a courtyard
    (a hole), some in two parts (multipolygons)."""
    cx = rng.uniform(0, extent_m, n)
    cy = rng.uniform(0, extent_m, n)
    w = rng.uniform(8, 40, n)
    h = rng.uniform(8, 16, n)
    boxes = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    angle = rng.uniform(0, 180, n)
    out = np.empty(n, dtype=object)
    for k in range(n):
        g = shapely.affinity.rotate(boxes[k], angle[k], origin="centroid")
        kind = k % 10
        if kind == 0 and w[k] > 20:
            g = g.difference(shapely.affinity.scale(g, 0.4, 0.4))
        elif kind == 1:
            g = shapely.multipolygons([g, shapely.affinity.translate(g, 0, h[k] + 6)])
        out[k] = g
    return out


def walk(
    rng: np.random.Generator, n: int, extent_m: float, step_m: float = 6.0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """A random walk of ``n`` fixes (heading drifts, steps of about ``step_m``) inside the
    square."""
    heading = np.cumsum(rng.normal(0, 0.35, n))
    step = rng.uniform(0.3, 2.0, n) * step_m
    x = np.empty(n)
    y = np.empty(n)
    x[0], y[0] = rng.uniform(0.1, 0.9, 2) * extent_m
    for k in range(1, n):
        nx = x[k - 1] + step[k] * np.cos(heading[k])
        ny = y[k - 1] + step[k] * np.sin(heading[k])
        if not (0 <= nx <= extent_m and 0 <= ny <= extent_m):
            heading[k:] += np.pi
            nx = x[k - 1] - step[k] * np.cos(heading[k - 1])
            ny = y[k - 1] - step[k] * np.sin(heading[k - 1])
        x[k], y[k] = nx, ny
    return x, y
