"""Spatial checks per parent and level: gaps, slivers, overlaps, duplicates, children
outside their parent, degenerate polygons, areas left undivided where siblings are divided.

Set-wide work (unions, differences, sibling intersections through the GiST index) runs in
PostGIS; the pieces come back as WKB and are measured in the run's local metric CRS with
vectorised shapely (area, minimum rotated rectangle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import text

from gis.coverage.context import Context, geojson, loads, sides_m, to_metric
from gis.coverage.model import Finding

#: Tolerance (degrees, ~0.1 m) for "a child borders this gap".
_EPS_DEG = 1e-6
#: Pieces below this (m²) are floating-point residue of unnoded edges: not even counted as
#: ignored.
NOISE_M2 = 0.01

_GAPS = text(
    """
    WITH s AS (SELECT code, level, parent_code, geom FROM areas WHERE id = ANY(:ids)),
    grp AS (
        SELECT parent_code AS parent, level, ST_Union(geom) AS u FROM s
        WHERE parent_code IS NOT NULL AND level = ANY(:tiling)
        GROUP BY parent_code, level
    ),
    piece AS (
        SELECT g.parent, g.level, (ST_Dump(ST_Difference(p.geom, g.u))).geom AS geom
        FROM grp g JOIN s p ON p.code = g.parent
    )
    SELECT x.parent, x.level, ST_AsBinary(x.geom) AS wkb,
        ARRAY(
            SELECT c.code FROM s c
            WHERE c.parent_code = x.parent AND c.level = x.level
              AND ST_DWithin(c.geom, x.geom, :eps)
            ORDER BY ST_Length(ST_Intersection(ST_Boundary(c.geom), ST_Buffer(x.geom, :eps)))
                DESC, c.code
        ) AS neighbours
    FROM piece x
    WHERE ST_Area(x.geom::geography) >= :floor
    ORDER BY x.parent, x.level
    """
)

_OVERLAPS = text(
    """
    SELECT a.parent_code AS parent, a.level, a.code AS a, b.code AS b,
        a.area_m2 AS a_m2, b.area_m2 AS b_m2,
        ST_AsBinary(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3)) AS wkb
    FROM areas a JOIN areas b
        ON a.geom && b.geom AND a.level = b.level AND a.code < b.code
        AND a.parent_code IS NOT DISTINCT FROM b.parent_code
    WHERE a.id = ANY(:ids) AND b.id = ANY(:ids) AND ST_Relate(a.geom, b.geom, '2********')
    ORDER BY a.code, b.code
    """
)

_OUTSIDE = text(
    """
    SELECT c.code, c.parent_code, c.level, ST_AsBinary(ST_Difference(c.geom, p.geom)) AS wkb
    FROM areas c JOIN areas p ON p.code = c.parent_code AND p.valid @> CAST(:g AS int)
    WHERE c.id = ANY(:ids) AND NOT ST_CoveredBy(c.geom, p.geom)
    ORDER BY c.code
    """
)

_DEGENERATE = text(
    """
    SELECT code, level, parent_code, area_m2, ST_IsValid(geom) AS is_valid,
        ST_IsValidReason(geom) AS reason, ST_AsGeoJSON(geom, 7) AS gj
    FROM areas
    WHERE id = ANY(:ids) AND (ST_IsEmpty(geom) OR NOT ST_IsValid(geom) OR area_m2 < :min_m2)
    ORDER BY code
    """
)

_UNDIVIDED = text(
    """
    WITH s AS (SELECT code, level, parent_code, area_m2, geom FROM areas WHERE id = ANY(:ids)),
    kids AS (
        SELECT parent_code AS code, level FROM s
        WHERE parent_code IS NOT NULL AND level = ANY(:tiling) GROUP BY parent_code, level
    ),
    used AS (
        SELECT sib.parent_code, sib.level, array_agg(DISTINCT k.level) AS levels
        FROM s sib JOIN kids k ON k.code = sib.code GROUP BY sib.parent_code, sib.level
    )
    SELECT a.code, a.level, a.parent_code, a.area_m2, u.levels, ST_AsGeoJSON(a.geom, 7) AS gj
    FROM s a JOIN used u ON u.parent_code = a.parent_code AND u.level = a.level
    WHERE a.level = ANY(:tiling) AND NOT EXISTS (SELECT 1 FROM kids k WHERE k.code = a.code)
    ORDER BY a.code
    """
)


@dataclass
class Pieces:
    """Polygons from PostGIS with their metric measures (m², m), one row each."""

    rows: list[Any]
    geoms: npt.NDArray[np.object_]
    area_m2: npt.NDArray[np.float64]
    width_m: npt.NDArray[np.float64]
    length_m: npt.NDArray[np.float64]


def _measure(ctx: Context, rows: list[Any], wkbs: list[bytes]) -> Pieces:
    geoms = np.asarray(shapely.from_wkb(wkbs), dtype=object) if wkbs else np.empty(0, object)
    metric = to_metric(ctx, geoms)
    width, length = sides_m(metric)
    area = np.asarray(shapely.area(metric), float)
    keep = np.flatnonzero(area >= NOISE_M2)
    return Pieces([rows[i] for i in keep], geoms[keep], area[keep], width[keep], length[keep])


def gap_pieces(ctx: Context) -> Pieces:
    """Every piece of parent land not covered by its children of one level (cached)."""
    if "gaps" not in ctx.cache:
        t = ctx.thresholds
        floor = min(t.gap_min_m2, t.sliver_min_m2) * 0.9  # geodesic vs metric area
        rows = list(
            ctx.conn.execute(
                _GAPS,
                {**ctx.params, "tiling": t.tiling_levels(), "eps": _EPS_DEG, "floor": floor},
            )
        )
        ctx.cache["gaps"] = _measure(ctx, rows, [r.wkb for r in rows])
    pieces: Pieces = ctx.cache["gaps"]
    return pieces


def overlap_pieces(ctx: Context) -> tuple[list[Any], Pieces]:
    """Sibling pairs whose interiors meet, and the polygon parts of each intersection."""
    if "overlaps" not in ctx.cache:
        pairs = list(ctx.conn.execute(_OVERLAPS, ctx.params))
        whole = np.asarray(shapely.from_wkb([p.wkb for p in pairs]), dtype=object)
        parts, index = shapely.get_parts(whole, return_index=True)
        rows = [pairs[int(i)] for i in index]
        pieces = _measure(ctx, rows, list(shapely.to_wkb(parts)))
        ctx.cache["overlaps"] = (pairs, pieces)
    result: tuple[list[Any], Pieces] = ctx.cache["overlaps"]
    return result


def _is_duplicate(ctx: Context, row: Any, overlap_m2: float) -> bool:
    share = ctx.thresholds.duplicate_min_share
    return bool(overlap_m2 >= share * row.a_m2 and overlap_m2 >= share * row.b_m2)


def _pair_totals(pieces: Pieces) -> dict[tuple[str, str], float]:
    totals: dict[tuple[str, str], float] = {}
    for row, area in zip(pieces.rows, pieces.area_m2, strict=True):
        totals[(row.a, row.b)] = totals.get((row.a, row.b), 0.0) + float(area)
    return totals


def check_gaps(ctx: Context) -> list[Finding]:
    """Land of a parent covered by none of its children (one level), wider than a sliver and
    at least ``gap_min_m2``; the bordering children are listed, longest shared edge first."""
    t, p = ctx.thresholds, gap_pieces(ctx)
    out: list[Finding] = []
    wide = p.width_m >= t.sliver_max_width_m
    ctx.ignore("gap pieces below gap_min_m2", int(np.sum(wide & (p.area_m2 < t.gap_min_m2))))
    for i in np.flatnonzero(wide & (p.area_m2 >= t.gap_min_m2)):
        row, area = p.rows[i], float(p.area_m2[i])
        out.append(
            Finding(
                "gap",
                "error",
                row.parent,
                list(row.neighbours),
                None,
                round(area, 1),
                "m2",
                f"{area:.0f} m² of {row.parent} belong to none of its {row.level} areas"
                + (f" (next to {', '.join(row.neighbours)})" if row.neighbours else ""),
                geojson(p.geoms[i]),
                {
                    "level": row.level,
                    "width_m": round(float(p.width_m[i]), 2),
                    "length_m": round(float(p.length_m[i]), 2),
                },
            )
        )
    return out


def check_slivers(ctx: Context) -> list[Finding]:
    """Gap or overlap pieces thinner than ``sliver_max_width_m`` (minimum rotated rectangle's
    short side) and at least ``sliver_min_m2``."""
    t = ctx.thresholds
    out: list[Finding] = []
    gaps = gap_pieces(ctx)
    _, overlaps = overlap_pieces(ctx)
    for kind, p in (("gap", gaps), ("overlap", overlaps)):
        thin = p.width_m < t.sliver_max_width_m
        ctx.ignore(
            f"{kind} slivers below sliver_min_m2", int(np.sum(thin & (p.area_m2 < t.sliver_min_m2)))
        )
        for i in np.flatnonzero(thin & (p.area_m2 >= t.sliver_min_m2)):
            row, area = p.rows[i], float(p.area_m2[i])
            width, length = float(p.width_m[i]), float(p.length_m[i])
            if kind == "gap":
                owner, others = row.parent, list(row.neighbours)
                what = f"belongs to none of the {row.level} areas of {row.parent}"
            else:
                owner, others = row.parent, [row.a, row.b]
                what = f"is claimed by both {row.a} and {row.b}"
            out.append(
                Finding(
                    "sliver",
                    "error",
                    owner,
                    others,
                    None,
                    round(area, 1),
                    "m2",
                    f"a {width:.2f} m wide, {length:.1f} m long strip ({area:.0f} m²) {what}",
                    geojson(p.geoms[i]),
                    {
                        "kind": kind,
                        "level": row.level,
                        "width_m": round(width, 2),
                        "length_m": round(length, 2),
                    },
                )
            )
    return out


def _pair_finding(
    check: str, row: Any, area: float, message: str, geometry: Any, details: dict[str, Any]
) -> Finding:
    """A finding about two siblings ``row.a`` and ``row.b`` sharing ``area`` m²."""
    return Finding(
        check,
        "error",
        row.parent,
        [row.a, row.b],
        None,
        round(area, 1),
        "m2",
        message,
        geojson(geometry),
        {"level": row.level, **details},
    )


def check_overlaps(ctx: Context) -> list[Finding]:
    """Land claimed by two siblings (at least ``overlap_min_m2``, wider than a sliver), with
    the share of each sibling's area; duplicates are left to :func:`check_duplicates`."""
    t = ctx.thresholds
    _, p = overlap_pieces(ctx)
    totals = _pair_totals(p)
    out: list[Finding] = []
    wide = p.width_m >= t.sliver_max_width_m
    ctx.ignore(
        "overlap pieces below overlap_min_m2", int(np.sum(wide & (p.area_m2 < t.overlap_min_m2)))
    )
    for i in np.flatnonzero(wide & (p.area_m2 >= t.overlap_min_m2)):
        row, area = p.rows[i], float(p.area_m2[i])
        if _is_duplicate(ctx, row, totals[(row.a, row.b)]):
            continue
        shares = {row.a: round(area / row.a_m2, 4), row.b: round(area / row.b_m2, 4)}
        out.append(
            _pair_finding(
                "overlap",
                row,
                area,
                f"{row.a} and {row.b} both claim {area:.0f} m² "
                f"({shares[row.a]:.1%} and {shares[row.b]:.1%} of their areas)",
                p.geoms[i],
                {"shares": shares, "width_m": round(float(p.width_m[i]), 2)},
            )
        )
    return out


def check_duplicates(ctx: Context) -> list[Finding]:
    """Sibling pairs covering (nearly) the same land: each shares ≥ ``duplicate_min_share``."""
    pairs, p = overlap_pieces(ctx)
    totals = _pair_totals(p)
    out: list[Finding] = []
    for row in pairs:
        area = totals.get((row.a, row.b), 0.0)
        if _is_duplicate(ctx, row, area):
            out.append(
                _pair_finding(
                    "duplicate",
                    row,
                    area,
                    f"{row.a} and {row.b} are the same polygon ({area:.0f} m²): keep one",
                    shapely.from_wkb(row.wkb),
                    {},
                )
            )
    return out


def check_outside_parent(ctx: Context) -> list[Finding]:
    """Children reaching at least ``outside_parent_min_m2`` outside their parent."""
    rows = list(ctx.conn.execute(_OUTSIDE, ctx.params))
    p = _measure(ctx, rows, [r.wkb for r in rows])
    small = p.area_m2 < ctx.thresholds.outside_parent_min_m2
    ctx.ignore("parts outside a parent below outside_parent_min_m2", int(np.sum(small)))
    return [
        Finding(
            "outside_parent",
            "error",
            row.code,
            [row.parent_code],
            None,
            round(float(p.area_m2[i]), 1),
            "m2",
            f"{row.code} reaches {float(p.area_m2[i]):.0f} m² outside its parent {row.parent_code}",
            geojson(p.geoms[i]),
            {"level": row.level},
        )
        for i, row in enumerate(p.rows)
        if not small[i]
    ]


def check_degenerate(ctx: Context) -> list[Finding]:
    """Area polygons that are empty, invalid or smaller than ``degenerate_max_m2``."""
    rows = ctx.conn.execute(_DEGENERATE, {**ctx.params, "min_m2": ctx.thresholds.degenerate_max_m2})
    return [
        Finding(
            "degenerate",
            "error",
            r.code,
            [r.parent_code] if r.parent_code else [],
            None,
            round(float(r.area_m2), 2),
            "m2",
            f"{r.code} is a degenerate polygon: "
            + (r.reason if not r.is_valid else f"only {r.area_m2:.2f} m²"),
            loads(r.gj),
            {"level": r.level},
        )
        for r in rows
    ]


def check_undivided(ctx: Context) -> list[Finding]:
    """Areas with no children while their siblings are divided: their land is covered at
    none of the levels below that the siblings use (a blind spot at those levels)."""
    rows = ctx.conn.execute(_UNDIVIDED, {**ctx.params, "tiling": ctx.thresholds.tiling_levels()})
    return [
        Finding(
            "undivided",
            "error",
            r.code,
            [r.parent_code],
            None,
            round(float(r.area_m2), 1),
            "m2",
            f"{r.code} has no {' or '.join(sorted(r.levels))} areas although its sibling "
            f"{r.level} areas in {r.parent_code} have: {r.area_m2:.0f} m² uncovered at that level",
            loads(r.gj),
            {"level": r.level, "missing_levels": sorted(r.levels)},
        )
        for r in rows
    ]
