"""Getis-Ord Gi* hotspots over H3 rings.

Each cell's neighbourhood is its k-ring disk (itself included, binary weights). Gi* is a
z-score: a cell is a *hotspot* when its neighbourhood holds significantly more than the study
region's mean, at a two-sided confidence level (90 %, 95 % or 99 % → |z| > 1.645, 1.960,
2.576). No correction for multiple testing is applied: read hotspots as "worth a look".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gis.errors import InvalidInput
from gis.heat.cells import Cells, disks

#: Two-sided critical z-values by confidence level (percent).
Z_CRITICAL: dict[int, float] = {90: 1.645, 95: 1.960, 99: 2.576}


def z_critical(confidence: int, *, field: str = "confidence") -> float:
    """Critical |z| for a confidence level in percent (90, 95 or 99)."""
    try:
        return Z_CRITICAL[confidence]
    except KeyError:
        raise InvalidInput(
            f"confidence must be one of {', '.join(map(str, Z_CRITICAL))}", field=field
        ) from None


def study_region(cells: Cells, k: int = 1, extra: Cells | None = None) -> Cells:
    """Cells with points, their k-ring neighbours (so empty surroundings count) and ``extra``."""
    parts = [cells, disks(cells, k)[0]]
    if extra is not None:
        parts.append(extra)
    if not any(len(p) for p in parts):
        return np.zeros(0, dtype=np.uint64)
    return np.unique(np.concatenate(parts)).astype(np.uint64)


def gi_star(region: Cells, values: npt.NDArray[np.float64], k: int = 1) -> npt.NDArray[np.float64]:
    """Gi* z-score of every cell of ``region`` (sorted) for ``values`` (same order).

    Neighbours outside the region are ignored. A region of fewer than 3 cells, or one where
    every value is equal, has no variance: every z is 0.
    """
    n = len(region)
    z = np.zeros(n, dtype=np.float64)
    if n < 3:
        return z
    mean = float(values.mean())
    s = float(np.sqrt(max((values**2).mean() - mean**2, 0.0)))
    if s == 0.0:
        return z
    members, rows = disks(region, k)
    pos = np.minimum(np.searchsorted(region, members), n - 1)
    inside = region[pos] == members
    weights = np.bincount(rows[inside], minlength=n).astype(np.float64)
    sums = np.bincount(rows[inside], weights=values[pos[inside]], minlength=n)
    denominator = s * np.sqrt((n * weights - weights**2) / (n - 1))
    np.divide(sums - mean * weights, denominator, out=z, where=denominator > 0)
    return z
