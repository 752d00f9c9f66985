"""Coordinate reference systems: WGS-84 / GCJ-02 / BD-09 / EPSG codes, and local metric CRSs.

Everything wangge stores is WGS-84 lon/lat (EPSG:4326). Lengths and areas are computed in a
local transverse Mercator CRS centred on the data, where scale error is below 0.01 % within
~50 km of the centre.

Chinese web maps publish coordinates in two obfuscated datums that no EPSG code describes:

* **GCJ-02** ("Mars coordinates", Amap/Gaode, Tencent, DataV): WGS-84 plus a smooth,
  position-dependent offset of a few hundred metres, defined only inside a rough box around
  mainland China (identity outside it).
* **BD-09** (Baidu): GCJ-02 with a further small polar-coordinate distortion, applied everywhere.

The forward directions (WGS-84 → GCJ-02 → BD-09) are the published closed-form formulas. The
reverse directions are *exact* numerical inverses (fixed-point iteration to 1e-10 degrees,
~1e-5 m), not the usual "subtract the offset once" approximation, which is off by up to
~5 m (about 2 m in Shanghai) for GCJ-02 and ~0.2 m for BD-09.

All conversion functions are vectorised with numpy: they take floats or arrays (broadcast
against each other), return float64 arrays, and let NaN pass through as NaN.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, TypeAlias, overload

import numpy as np
import numpy.typing as npt
import shapely

if TYPE_CHECKING:  # pyproj (11 MB) is imported where a CRS is first built
    from pyproj import CRS, Transformer

from gis.errors import InvalidInput

__all__ = [
    "CrsSpec",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "geometry_to_wgs84",
    "local_metric_crs",
    "local_projected_epsg",
    "metric_transformers",
    "parse_crs",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
"""A float64 ndarray of coordinates (any shape; lon and lat arrays share one shape)."""

Coords: TypeAlias = npt.ArrayLike
"""Anything numpy turns into a float array: a float, a sequence, an ndarray."""

_Pair: TypeAlias = tuple[FloatArray, FloatArray]
_Converter: TypeAlias = Callable[..., _Pair]

# --- GCJ-02 constants (Krasovsky 1940 ellipsoid, as used by the published algorithm) ---------
_GCJ_A: Final = 6378245.0
_GCJ_EE: Final = 0.00669342162296594323
# The rough "mainland China" box inside which GCJ-02 differs from WGS-84.
_CHINA_LON_MIN: Final = 72.004
_CHINA_LON_MAX: Final = 137.8347
_CHINA_LAT_MIN: Final = 0.8293
_CHINA_LAT_MAX: Final = 55.8271

# --- BD-09 constants -------------------------------------------------------------------------
_X_PI: Final = math.pi * 3000.0 / 180.0
_BD_DLON: Final = 0.0065
_BD_DLAT: Final = 0.006

# --- Iterative inverse -----------------------------------------------------------------------
_INVERSE_TOL_DEG: Final = 1e-10
_INVERSE_MAX_ITER: Final = 30


def _as_pair(lon: Coords, lat: Coords) -> _Pair:
    """Broadcast ``lon``/``lat`` to two float64 arrays of one shape (always fresh copies)."""
    lon_a, lat_a = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return np.array(lon_a, dtype=np.float64), np.array(lat_a, dtype=np.float64)


def _out(lon: Any, lat: Any) -> _Pair:
    """Make sure results are float64 ndarrays (numpy turns 0-d results into scalars)."""
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _in_china(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    """True where a point lies inside the GCJ-02 box (NaN coordinates count as outside)."""
    return (
        (lon >= _CHINA_LON_MIN)
        & (lon <= _CHINA_LON_MAX)
        & (lat >= _CHINA_LAT_MIN)
        & (lat <= _CHINA_LAT_MAX)
    )


def _gcj_dlat(x: FloatArray, y: FloatArray) -> FloatArray:
    """The published GCJ-02 latitude polynomial (``transformlat``); x = lon-105, y = lat-35."""
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _gcj_dlon(x: FloatArray, y: FloatArray) -> FloatArray:
    """The published GCJ-02 longitude polynomial (``transformlon``); x = lon-105, y = lat-35."""
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_forward_raw(lon: FloatArray, lat: FloatArray) -> _Pair:
    """WGS-84 → GCJ-02 by formula, ignoring the China box (callers apply it)."""
    dlat = _gcj_dlat(lon - 105.0, lat - 35.0)
    dlon = _gcj_dlon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * np.cos(radlat) * np.pi)
    return lon + dlon, lat + dlat


def _bd_forward_raw(lon: FloatArray, lat: FloatArray) -> _Pair:
    """GCJ-02 → BD-09 by the published formula (applies everywhere)."""
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_inverse_naive(lon: FloatArray, lat: FloatArray) -> _Pair:
    """BD-09 → GCJ-02 by the published approximate formula (up to ~0.2 m off); a start."""
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Callable[[FloatArray, FloatArray], _Pair],
    lon: FloatArray,
    lat: FloatArray,
    start: _Pair,
) -> _Pair:
    """Solve ``forward(p) == (lon, lat)`` for p by fixed-point iteration, all points at once.

    ``p <- p - (forward(p) - target)``. It converges because both offsets are tiny, smooth
    perturbations of the identity (Jacobian within ~1e-3 of I), so each step shrinks the error
    by ~1000x. Stops when the largest residual over the finite points is below 1e-10 degrees,
    or after 30 iterations (then returns the last iterate). Non-finite targets stay
    non-finite and are ignored by the stopping test.
    """
    p_lon, p_lat = start
    finite = np.isfinite(lon) & np.isfinite(lat)
    if not finite.any():
        return p_lon, p_lat
    for _ in range(_INVERSE_MAX_ITER):
        f_lon, f_lat = forward(p_lon, p_lat)
        r_lon = f_lon - lon
        r_lat = f_lat - lat
        worst = max(float(np.max(np.abs(r_lon[finite]))), float(np.max(np.abs(r_lat[finite]))))
        if worst < _INVERSE_TOL_DEG:
            break
        p_lon = p_lon - r_lon
        p_lat = p_lat - r_lat
    return p_lon, p_lat


def wgs84_to_gcj02(*, lon: Coords, lat: Coords) -> _Pair:
    """Convert WGS-84 lon/lat to GCJ-02 ("Mars") lon/lat, in degrees.

    The standard published algorithm (Krasovsky ellipsoid a=6378245, ee=0.006693421622965943).
    Points outside the rough mainland-China box (lon 72.004..137.8347, lat 0.8293..55.8271)
    are returned unchanged, as GCJ-02 is the identity there; NaN stays NaN.
    """
    lon_a, lat_a = _as_pair(lon, lat)
    inside = _in_china(lon_a, lat_a)
    g_lon, g_lat = _gcj_forward_raw(lon_a[inside], lat_a[inside])
    lon_a[inside] = g_lon
    lat_a[inside] = g_lat
    return lon_a, lat_a


def gcj02_to_wgs84(*, lon: Coords, lat: Coords) -> _Pair:
    """Convert GCJ-02 lon/lat to WGS-84 lon/lat, in degrees, by an exact iterative inverse.

    Starts from the naive inverse ``p - (f(p) - p)`` (up to ~5 m off) and iterates until
    ``wgs84_to_gcj02(result)`` reproduces the input to < 1e-10 degrees (~1e-5 m), at most 30
    rounds (two or three suffice in practice). Points outside the mainland-China box (the same
    box as :func:`wgs84_to_gcj02`, tested on the GCJ-02 input) are returned unchanged; NaN
    stays NaN. Within a few hundred metres of the box edge the forward map is not one-to-one,
    so a round trip there is not guaranteed (nothing of interest lies there).
    """
    lon_a, lat_a = _as_pair(lon, lat)
    inside = _in_china(lon_a, lat_a)
    t_lon, t_lat = lon_a[inside], lat_a[inside]
    f_lon, f_lat = _gcj_forward_raw(t_lon, t_lat)
    start = (t_lon - (f_lon - t_lon), t_lat - (f_lat - t_lat))
    w_lon, w_lat = _invert(_gcj_forward_raw, t_lon, t_lat, start)
    lon_a[inside] = w_lon
    lat_a[inside] = w_lat
    return lon_a, lat_a


def gcj02_to_bd09(*, lon: Coords, lat: Coords) -> _Pair:
    """Convert GCJ-02 lon/lat to Baidu BD-09 lon/lat, in degrees.

    The standard formula (x_pi = pi*3000/180, +0.0065 lon / +0.006 lat), applied everywhere:
    unlike GCJ-02, BD-09 has no "outside China" identity. NaN stays NaN.
    """
    lon_a, lat_a = _as_pair(lon, lat)
    return _out(*_bd_forward_raw(lon_a, lat_a))


def bd09_to_gcj02(*, lon: Coords, lat: Coords) -> _Pair:
    """Convert Baidu BD-09 lon/lat to GCJ-02 lon/lat, in degrees, by an exact iterative inverse.

    Starts from the published approximate inverse and iterates until
    ``gcj02_to_bd09(result)`` reproduces the input to < 1e-10 degrees (at most 30 rounds).
    Applied everywhere (no China box); NaN stays NaN.
    """
    lon_a, lat_a = _as_pair(lon, lat)
    return _out(*_invert(_bd_forward_raw, lon_a, lat_a, _bd_inverse_naive(lon_a, lat_a)))


def wgs84_to_bd09(*, lon: Coords, lat: Coords) -> _Pair:
    """Convert WGS-84 lon/lat to Baidu BD-09 lon/lat, in degrees (via GCJ-02).

    The GCJ-02 step is the identity outside the mainland-China box; the BD-09 step is not.
    """
    g_lon, g_lat = wgs84_to_gcj02(lon=lon, lat=lat)
    return gcj02_to_bd09(lon=g_lon, lat=g_lat)


def bd09_to_wgs84(*, lon: Coords, lat: Coords) -> _Pair:
    """Convert Baidu BD-09 lon/lat to WGS-84 lon/lat, in degrees (exact inverses, via GCJ-02).

    The GCJ-02 step is the identity outside the mainland-China box; the BD-09 step is not.
    """
    g_lon, g_lat = bd09_to_gcj02(lon=lon, lat=lat)
    return gcj02_to_wgs84(lon=g_lon, lat=g_lat)


# --- CRS specs -------------------------------------------------------------------------------

WGS84: Final = "wgs84"
GCJ02: Final = "gcj02"
BD09: Final = "bd09"

_ALIASES: Final[dict[str, str]] = {
    "wgs84": WGS84,
    "wgs-84": WGS84,
    "gcj02": GCJ02,
    "gcj-02": GCJ02,
    "bd09": BD09,
    "bd-09": BD09,
}
#: The CRS names the API document lists (the server also takes other spellings, the OGC
#: names below and any 2-D EPSG CRS PROJ can transform): WGS-84, the Chinese datums,
#: CGCS2000 and the projected systems used around Shanghai.
DOCUMENTED_CRS: Final = (
    "wgs84",
    "gcj02",
    "bd09",
    "EPSG:4326",
    "EPSG:4490",
    "EPSG:3857",
    "EPSG:4549",
    "EPSG:32650",
    "EPSG:32651",
)
#: The datums a phone or web map may hand over (reverse geocoding takes these)
DATUMS: Final = ("wgs84", "gcj02", "bd09")

#: OGC names of WGS-84 lon/lat (what GIS tools write in a GeoJSON file's ``crs`` member)
CRS84_NAMES: Final = (
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:ogc::crs84",
    "http://www.opengis.net/def/crs/ogc/1.3/crs84",
    "https://www.opengis.net/def/crs/ogc/1.3/crs84",
    "ogc:crs84",
    "crs84",
)
_ALIASES.update(dict.fromkeys(CRS84_NAMES, WGS84))
_EPSG_RE: Final = re.compile(
    r"(?:epsg:|urn:ogc:def:crs:epsg:[0-9.]*:|https?://www\.opengis\.net/def/crs/epsg/0/)(\d{1,9})"
)
_ACCEPTED: Final = (
    'expected one of "wgs84" (also "WGS-84", "EPSG:4326"), "gcj02" (also "GCJ-02"), '
    '"bd09" (also "BD-09"), or "EPSG:<code>" for a 2-D geographic or projected CRS '
    '(e.g. "EPSG:32651", "EPSG:4490"); case-insensitive'
)


@dataclass(frozen=True)
class CrsSpec:
    """A parsed coordinate reference system: a named Chinese datum or an EPSG CRS.

    ``name`` is canonical: ``"wgs84"``, ``"gcj02"``, ``"bd09"`` or ``"EPSG:<code>"``
    (EPSG:4326 is canonicalised to ``"wgs84"``). ``crs`` is the pyproj CRS for EPSG specs and
    ``None`` for the three named ones. Equality and hashing use ``name`` only.
    """

    name: str
    crs: CRS | None = dataclass_field(default=None, repr=False, compare=False)

    @property
    def is_wgs84(self) -> bool:
        """True if coordinates in this CRS are already WGS-84 lon/lat (no conversion needed)."""
        return self.name == WGS84

    def __str__(self) -> str:
        return self.name


def geojson_crs(value: Any, *, field: str = "crs") -> CrsSpec:
    """The CRS of a GeoJSON ``crs`` member: a string :func:`parse_crs` reads, or the 2008
    GeoJSON named-CRS object GIS tools still write,
    ``{"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}``."""
    if isinstance(value, dict):
        name = value.get("properties", {}) if value.get("type") == "name" else None
        name = name.get("name") if isinstance(name, dict) else None
        if not isinstance(name, str):
            raise InvalidInput(
                'a crs object must be {"type": "name", "properties": {"name": <CRS name>}}',
                field=field,
            )
        return parse_crs(name, field=field)
    return parse_crs(value, field=field)


def parse_crs(spec: str, *, field: str = "crs") -> CrsSpec:
    """Parse a user-supplied CRS spec (CLI option, API parameter) into a :class:`CrsSpec`.

    Accepts, case-insensitively and ignoring surrounding whitespace: ``wgs84``/``WGS-84``/
    ``EPSG:4326`` (→ ``"wgs84"``), ``gcj02``/``GCJ-02``, ``bd09``/``BD-09``, and ``EPSG:<n>``
    for any 2-D geographic or projected CRS pyproj knows (e.g. ``EPSG:32651`` UTM 51N,
    ``EPSG:4490`` CGCS2000). Anything else — unknown names, unknown EPSG codes, EPSG codes for
    3-D, geocentric, vertical or compound CRSs or for non-CRS objects — raises
    :class:`~gis.errors.InvalidInput` carrying ``field`` and a reason listing the accepted forms.
    """
    if not isinstance(spec, str):
        raise InvalidInput(f"CRS must be a string; {_ACCEPTED}", field=field)
    key = spec.strip().lower()
    if key in _ALIASES:
        return CrsSpec(_ALIASES[key])
    match = _EPSG_RE.fullmatch(key)
    if match is None:
        raise InvalidInput(f"unknown CRS {spec!r}; {_ACCEPTED}", field=field)
    code = int(match.group(1))
    if code == 4326:
        return CrsSpec(WGS84)
    from pyproj import CRS
    from pyproj.exceptions import CRSError, ProjError

    try:
        crs = CRS.from_epsg(code)
    except CRSError:
        raise InvalidInput(
            f"EPSG:{code} is not a CRS known to PROJ; {_ACCEPTED}", field=field
        ) from None
    if not (crs.is_geographic or crs.is_projected) or len(crs.axis_info) != 2:
        raise InvalidInput(
            f"EPSG:{code} ({crs.name}) is not a 2-D geographic or projected CRS; {_ACCEPTED}",
            field=field,
        )
    name = f"EPSG:{code}"
    try:
        _epsg_to_wgs84_transformer(name)
    except (CRSError, ProjError):
        raise InvalidInput(
            f"{name} ({crs.name}) cannot be transformed to WGS-84; {_ACCEPTED}", field=field
        ) from None
    return CrsSpec(name, crs)


@lru_cache(maxsize=64)
def _epsg_to_wgs84_transformer(name: str) -> Transformer:
    """A cached (thread-safe, pyproj >= 3.1) transformer from EPSG ``name`` to WGS-84, x/y order."""
    from pyproj import CRS, Transformer

    return Transformer.from_crs(CRS.from_user_input(name), CRS.from_epsg(4326), always_xy=True)


def _converter(crs: CrsSpec) -> _Converter | None:
    """The function taking ``lon=, lat=`` in ``crs`` to WGS-84, or None for WGS-84 itself."""
    if crs.name == WGS84:
        return None
    if crs.name == GCJ02:
        return gcj02_to_wgs84
    if crs.name == BD09:
        return bd09_to_wgs84
    if crs.crs is None:
        raise ValueError(f"CrsSpec {crs.name!r} has no pyproj CRS; build it with parse_crs()")
    transformer = _epsg_to_wgs84_transformer(crs.name)

    def from_epsg(*, lon: Coords, lat: Coords) -> _Pair:
        x, y = _as_pair(lon, lat)
        return _out(*transformer.transform(x, y))

    return from_epsg


def to_wgs84(*, lon: Coords, lat: Coords, crs: CrsSpec) -> _Pair:
    """Convert coordinates given in ``crs`` to WGS-84 lon/lat arrays (degrees).

    For geographic specs (wgs84, gcj02, bd09, geographic EPSG codes) ``lon``/``lat`` are
    degrees, longitude first. For *projected* EPSG specs (e.g. UTM ``EPSG:32651``) pass the
    easting/x in metres (or the CRS's unit) as ``lon`` and the northing/y as ``lat``: axis
    order is always x/y (pyproj ``always_xy=True``), whatever the EPSG definition says.
    GCJ-02 and BD-09 use the exact inverses above; EPSG specs use a cached pyproj
    Transformer, which returns ``inf`` for points it cannot transform. Always returns fresh
    arrays (also for WGS-84 input); NaN stays NaN.
    """
    convert = _converter(crs)
    if convert is None:
        return _as_pair(lon, lat)
    return convert(lon=lon, lat=lat)


@overload
def geometry_to_wgs84(geoms: npt.NDArray[np.object_], crs: CrsSpec) -> npt.NDArray[np.object_]: ...
@overload
def geometry_to_wgs84(geoms: shapely.Geometry, crs: CrsSpec) -> shapely.Geometry: ...
def geometry_to_wgs84(geoms: Any, crs: CrsSpec) -> Any:
    """Convert every vertex of shapely geometries from ``crs`` to WGS-84 lon/lat.

    ``geoms`` is a single geometry (a geometry comes back) or an array of geometries (an
    object ndarray of the same shape comes back, also for a list or GeoSeries; ``None``
    entries stay ``None``). All coordinates of all geometries go through :func:`to_wgs84` in
    one vectorised call (``shapely.transform`` with ``interleaved=False``), so units and axis
    order are as documented there. Z values, where present, are kept unchanged; M is
    dropped. For WGS-84 a single geometry is returned as is (geometries are immutable) and
    arrays are copied.
    """
    convert = _converter(crs)
    if convert is None:
        if geoms is None or isinstance(geoms, shapely.Geometry):
            return geoms
        return np.array(geoms, dtype=np.object_)

    def transform(x: FloatArray, y: FloatArray, *z: FloatArray) -> tuple[FloatArray, ...]:
        lon, lat = convert(lon=x, lat=y)
        return (lon, lat, *z)

    return shapely.transform(geoms, transform, include_z=None, interleaved=False)


# --- Local metric CRSs -----------------------------------------------------------------------


def local_metric_crs(*, lon: float, lat: float) -> CRS:
    """A transverse Mercator CRS (metres) centred on ``lon, lat`` (WGS-84 degrees)."""
    from pyproj import CRS

    return CRS.from_proj4(
        f"+proj=tmerc +lat_0={lat:.6f} +lon_0={lon:.6f} +k=1 +x_0=0 +y_0=0 "
        "+ellps=WGS84 +units=m +no_defs"
    )


_METRIC_CENTRE_DECIMALS: Final = 2


@lru_cache(maxsize=256)
def _metric_transformers_at(lon: float, lat: float) -> tuple[Transformer, Transformer]:
    """Uncached work behind :func:`metric_transformers` (the cache key is the rounded centre)."""
    from pyproj import CRS, Transformer

    wgs84 = CRS.from_epsg(4326)
    metric = local_metric_crs(lon=lon, lat=lat)
    return (
        Transformer.from_crs(wgs84, metric, always_xy=True),
        Transformer.from_crs(metric, wgs84, always_xy=True),
    )


def metric_transformers(*, lon: float, lat: float) -> tuple[Transformer, Transformer]:
    """Transformers (WGS-84 lon/lat → local metres, local metres → WGS-84) near ``lon, lat``.

    The local CRS is :func:`local_metric_crs` centred on ``lon, lat`` rounded to 0.01 degree
    (≤ ~1 km from the requested centre, which changes scale error negligibly), and the pair is
    cached per rounded centre. Both use x/y (lon/lat) axis order. Raises ``ValueError`` for a
    non-finite centre or one outside lon -180..180 / lat -90..90.
    """
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 180 or abs(lat) > 90:
        raise ValueError(f"metric centre must be finite WGS-84 lon/lat, got ({lon}, {lat})")
    lon_r = round(float(lon), _METRIC_CENTRE_DECIMALS) + 0.0  # + 0.0 folds -0.0 into 0.0
    lat_r = round(float(lat), _METRIC_CENTRE_DECIMALS) + 0.0
    return _metric_transformers_at(lon_r, lat_r)


# --- Input points: the one path from any supported CRS to checked WGS-84 ---------------------


def in_lon_lat_range(x: FloatArray, y: FloatArray) -> npt.NDArray[np.bool_]:
    """Whether each point is a coordinate at all: -180 ≤ lon ≤ 180 and -90 ≤ lat ≤ 90
    (NaN is not)."""
    out: npt.NDArray[np.bool_] = (np.abs(x) <= 180.0) & (np.abs(y) <= 90.0)
    return out


def points_to_wgs84(
    *,
    lon: Coords,
    lat: Coords,
    crs: CrsSpec,
    errors: list[str | None] | None = None,
) -> tuple[FloatArray, FloatArray, list[str | None]]:
    """Convert input points from ``crs`` to WGS-84, *then* validate them.

    Every caller (single point, batch, buildings, files) goes through here, so a projected
    ``EPSG:32651`` easting/northing is judged as the lon/lat it becomes, not as degrees.
    Returns WGS-84 arrays and one reason per point (``None`` where usable): non-finite input,
    a point the CRS cannot convert, or a result outside -180..180 / -90..90. Points that
    already carry a reason in ``errors`` keep it and become NaN.
    """
    x_in, y_in = _as_pair(lon, lat)
    reasons: list[str | None] = list(errors) if errors is not None else [None] * len(x_in)
    usable = np.fromiter((r is None for r in reasons), dtype=bool, count=len(reasons))
    for i in np.flatnonzero(usable & ~(np.isfinite(x_in) & np.isfinite(y_in))).tolist():
        reasons[i] = (
            "lon: not a finite number" if not np.isfinite(x_in[i]) else ("lat: not a finite number")
        )
    usable &= np.isfinite(x_in) & np.isfinite(y_in)
    x = np.full(len(x_in), np.nan)
    y = np.full(len(y_in), np.nan)
    if usable.any():
        x[usable], y[usable] = to_wgs84(lon=x_in[usable], lat=y_in[usable], crs=crs)
    after = "" if crs.is_wgs84 else f" (after conversion from {crs.name})"
    with np.errstate(invalid="ignore"):
        suspect = usable & ~in_lon_lat_range(x, y)
    for i in np.flatnonzero(suspect).tolist():  # only the few bad points, not every point
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            reasons[i] = f"lon: cannot be converted from {crs.name}"
        elif abs(x[i]) > 180:
            reasons[i] = f"lon: outside -180..180{after}"
        elif abs(y[i]) > 90:
            reasons[i] = f"lat: outside -90..90{after}"
    bad = np.fromiter((r is not None for r in reasons), dtype=bool, count=len(reasons))
    x[bad] = np.nan
    y[bad] = np.nan
    return x, y, reasons


# --- Local projected CRS with an EPSG code (for clients that need a published CRS) -----------

_GK3_FIRST_EPSG: Final = 4534  # CGCS2000 / 3-degree Gauss-Kruger CM 75E; +1 per 3 degrees east
_GK3_CM_MIN: Final = 75
_GK3_CM_MAX: Final = 135


def local_projected_epsg(*, lon: float, lat: float) -> int:
    """The EPSG code of the published projected CRS (metres) that suits data at ``lon, lat``.

    In China's range (central meridians 75E..135E) it is the CGCS2000 3-degree Gauss-Krüger
    zone whose central meridian is nearest (EPSG:4534..4554, no zone prefix in the easting;
    EPSG:4549, CM 120E, for Shanghai), the grid Chinese surveying offices publish in.
    Elsewhere it is the WGS-84 UTM zone (EPSG:326xx north, 327xx south). Unlike
    :func:`local_metric_crs` it has a code, so OGC API clients can request it by URI.
    """
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 180 or abs(lat) > 90:
        raise ValueError(f"centre must be finite WGS-84 lon/lat, got ({lon}, {lat})")
    cm = 3 * round(lon / 3)
    if _GK3_CM_MIN <= cm <= _GK3_CM_MAX and lat >= 0:
        return _GK3_FIRST_EPSG + (cm - _GK3_CM_MIN) // 3
    zone = min(60, int((lon + 180) // 6) + 1)
    return (32600 if lat >= 0 else 32700) + zone
