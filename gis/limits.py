"""Request and file limits (issue 16): checks that refuse what is over a configured limit
with a domain error naming the parameter, the limit and the ``WANGGE_*`` setting to raise it.

The defaults live here so that ``gis.settings`` and callers without settings agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gis.errors import InvalidInput, PayloadTooLarge

if TYPE_CHECKING:
    from gis.settings import Settings

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100  # the `limit` of a list when none is given
PAGE_SIZE_CEILING = 100_000  # the largest page size a deployment may configure
MAX_BBOX_KM2 = 50_000.0  # a large city with its suburbs (Shanghai: 6,340 km²)
MAX_EXPORT_ROWS = 200_000
MAX_POLYGON_VERTICES = 200_000  # a surveyed district boundary has tens of thousands
MAX_ARCHIVE_BYTES = 2 * 1024**3  # uncompressed size of every member of a .zip together
MAX_ARCHIVE_RATIO = 1000  # uncompressed / compressed, for members over RATIO_FLOOR_BYTES
RATIO_FLOOR_BYTES = 1024**2
STATEMENT_TIMEOUT_S = 30.0
GEOCODE_BATCH_MAX = 10_000

_EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


def setting_name(field: str) -> str:
    """The environment variable of a settings field: ``max_page_size`` → WANGGE_MAX_PAGE_SIZE."""
    return f"WANGGE_{field.upper()}"


def bbox_area_km2(*, west: float, south: float, east: float, north: float) -> float:
    """Area of a lon/lat box on the sphere, in km² (exact for a box bounded by meridians and
    parallels; within 0.5 % of the ellipsoid)."""
    width = math.radians(east - west)
    return (
        _EARTH_RADIUS_KM**2
        * width
        * (math.sin(math.radians(north)) - math.sin(math.radians(south)))
    )


def check_bbox_area(
    *, west: float, south: float, east: float, north: float, max_km2: float, field: str = "bbox"
) -> None:
    """Raise InvalidInput naming ``field`` if the WGS-84 box covers more than ``max_km2``."""
    area = bbox_area_km2(west=west, south=south, east=east, north=north)
    if area > max_km2:
        raise InvalidInput(
            f"covers {area:,.0f} km²; at most {max_km2:,.0f} km² ({setting_name('max_bbox_km2')})"
            "; narrow the box or page through the whole set without one",
            field=field,
            limit=max_km2,
        )


def check_page_size(limit: int, *, maximum: int, field: str = "limit") -> None:
    """Raise InvalidInput naming ``field`` unless 1 ≤ ``limit`` ≤ ``maximum``."""
    if not 1 <= limit <= maximum:
        raise InvalidInput(
            f"at least 1, at most {maximum} ({setting_name('max_page_size')}); "
            "follow the `next` link for more",
            field=field,
            limit=maximum,
        )


def check_export_rows(matched: int, *, maximum: int) -> None:
    """Raise PayloadTooLarge if an export would hold more than ``maximum`` rows."""
    if matched > maximum:
        raise PayloadTooLarge(
            f"{matched:,} incidents match; an export holds at most {maximum:,} "
            f"({setting_name('max_export_rows')}); narrow it with from/to, area, category, "
            "status or bbox, or export in several parts",
            field="export",
            limit=maximum,
            matched=matched,
        )


def vertex_limit(maximum: int) -> str:
    """The vertex limit as said in error messages."""
    return (
        f"at most {maximum:,} vertices per feature ({setting_name('max_polygon_vertices')}); "
        "simplify it or split it"
    )


def vertex_problem(count: int, *, maximum: int) -> str | None:
    """The reason a geometry of ``count`` vertices is refused, or None if within ``maximum``."""
    if count <= maximum:
        return None
    return f"{count:,} vertices; {vertex_limit(maximum)}"


@dataclass(frozen=True)
class FileLimits:
    """What an imported file may hold: vertices per feature and, for a .zip, the total
    uncompressed size and the compression ratio of each large member."""

    max_polygon_vertices: int = MAX_POLYGON_VERTICES
    max_archive_bytes: int = MAX_ARCHIVE_BYTES
    max_archive_ratio: float = MAX_ARCHIVE_RATIO

    @classmethod
    def from_settings(cls, settings: Settings) -> FileLimits:
        """The limits configured in ``settings``."""
        return cls(
            max_polygon_vertices=settings.max_polygon_vertices,
            max_archive_bytes=settings.max_archive_bytes,
            max_archive_ratio=settings.max_archive_ratio,
        )
