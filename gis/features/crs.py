"""CRS for OGC API – Features Part 2: URIs in and out, axis order, SRIDs.

Storage is EPSG:4326 lon/lat. Output is CRS84 (lon/lat) by default and, on request, EPSG:4326
or EPSG:4490 (CGCS2000) — both latitude first, as their EPSG definitions say — or the local
projected CRS (:func:`gis.crs.local_projected_epsg`, northing first for the CGCS2000
Gauss-Krüger zones). Part 2 wants coordinates in the CRS's own axis order; PostGIS returns
x/y (east/north), so lat-first or north-first CRSs are flipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from gis.crs import local_projected_epsg
from gis.errors import InvalidInput

CRS84: Final = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI: Final = "http://www.opengis.net/def/crs/EPSG/0/{code}"
CGCS2000: Final = 4490

_URI_RE: Final = re.compile(
    r"(?:https?://www\.opengis\.net/def/crs/EPSG/0/|\[?EPSG:)(\d{1,6})\]?", re.IGNORECASE
)
_CRS84_RE: Final = re.compile(
    r"(?:https?://www\.opengis\.net/def/crs/OGC/1\.3/CRS84|\[?OGC:CRS84\]?|CRS84)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class OutputCrs:
    """A CRS features can be returned in: its URI, PostGIS SRID and whether x/y is flipped."""

    uri: str
    srid: int
    flip: bool

    @property
    def geographic(self) -> bool:
        """True for degrees (lon/lat or lat/lon), False for a projected CRS in metres."""
        return self.srid in (4326, CGCS2000)


@lru_cache(maxsize=64)
def _north_first(code: int) -> bool:
    from pyproj import CRS  # imported on first use: processes that never need it stay small

    axes = CRS.from_epsg(code).axis_info
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


def output_crs(code: int | None) -> OutputCrs:
    """The :class:`OutputCrs` for EPSG ``code`` (None: CRS84, lon/lat, unflipped)."""
    if code is None:
        return OutputCrs(CRS84, 4326, False)
    return OutputCrs(EPSG_URI.format(code=code), code, _north_first(code))


def supported_crs(*, lon: float, lat: float) -> list[OutputCrs]:
    """The CRSs served for data centred at ``lon, lat``: CRS84, EPSG:4326, EPSG:4490 and
    the local projected CRS, in that order (CRS84 first: the default)."""
    return [
        output_crs(None),
        output_crs(4326),
        output_crs(CGCS2000),
        output_crs(local_projected_epsg(lon=lon, lat=lat)),
    ]


def parse_crs_uri(text: str, supported: list[OutputCrs], *, field: str = "crs") -> OutputCrs:
    """Parse a CRS URI (``http://www.opengis.net/def/crs/EPSG/0/4490``), a safe CURIE
    (``[EPSG:4490]``) or ``EPSG:4490``/``CRS84``; raise InvalidInput naming ``field`` unless
    it is one of ``supported``."""
    value = text.strip()
    found: OutputCrs | None = None
    if _CRS84_RE.fullmatch(value):
        found = output_crs(None)
    else:
        match = _URI_RE.fullmatch(value)
        if match is not None:
            uri = EPSG_URI.format(code=int(match.group(1)))
            found = next((c for c in supported if c.uri == uri), None)
    if found is None:
        raise InvalidInput(
            f"unsupported CRS {text!r}; expected one of {', '.join(c.uri for c in supported)}",
            field=field,
        )
    return found
