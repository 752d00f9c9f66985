"""Coordinate reference systems: WGS-84 / GCJ-02 / BD-09 / EPSG codes, and local metric CRSs.

Everything wangge stores is WGS-84 lon/lat (EPSG:4326). Lengths and areas are computed in a
local transverse Mercator CRS centred on the data, where scale error is below 0.01 % within
~50 km of the centre.
"""

from __future__ import annotations

from pyproj import CRS


def local_metric_crs(*, lon: float, lat: float) -> CRS:
    """A transverse Mercator CRS (metres) centred on ``lon, lat`` (WGS-84 degrees)."""
    return CRS.from_proj4(
        f"+proj=tmerc +lat_0={lat:.6f} +lon_0={lon:.6f} +k=1 +x_0=0 +y_0=0 "
        "+ellps=WGS84 +units=m +no_defs"
    )
