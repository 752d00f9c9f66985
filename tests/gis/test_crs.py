"""Tests for gis.crs: GCJ-02 / BD-09 conversions, exact inverses, CRS specs, metric CRSs."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pytest
import shapely
from pyproj import CRS, Geod, Transformer

from gis.crs import (
    CrsSpec,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    geometry_to_wgs84,
    local_metric_crs,
    metric_transformers,
    parse_crs,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gis.errors import InvalidInput
from tests.conftest import reference

EARTH_RADIUS_M = 6_371_008.8
GEOD = Geod(ellps="WGS84")
X_PI = np.pi * 3000.0 / 180.0

Converter = Callable[..., tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]


def haversine_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distance in metres (independent of the code under test)."""
    lo1, la1, lo2, la2 = (
        np.radians(np.asarray(v, dtype=np.float64)) for v in (lon1, lat1, lon2, lat2)
    )
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h)), dtype=np.float64)


def geodesic_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Ellipsoidal (WGS-84) distance in metres, for checks finer than the sphere's ~0.5 %."""
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def china_grid() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """A 63 x 51 grid over mainland China (kept clear of the GCJ-02 box edges)."""
    lon, lat = np.meshgrid(np.linspace(73.5, 135.0, 63), np.linspace(3.5, 53.5, 51))
    return lon.ravel(), lat.ravel()


# --- known values ---------------------------------------------------------------------------

# Published reference values of the standard algorithm (wandergis/coordtransform, also used
# verbatim in hutool's CoordinateUtilTest and tool.lu): forward directions only, since the
# published inverses are the naive ~1 m approximation.
KNOWN_FORWARD = [
    pytest.param(wgs84_to_gcj02, (116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    pytest.param(gcj02_to_bd09, (116.404, 39.915), (116.41036949371029, 39.92133699351021)),
    pytest.param(wgs84_to_bd09, (116.404, 39.915), (116.41662724378733, 39.922699552216216)),
    pytest.param(
        wgs84_to_bd09, (122.99395597, 44.99804071), (123.00636516028885, 45.0063690918959)
    ),
]


@pytest.mark.parametrize(("func", "given", "expected"), KNOWN_FORWARD)
def test_forward_matches_published_values(
    func: Converter, given: tuple[float, float], expected: tuple[float, float]
) -> None:
    lon, lat = func(lon=given[0], lat=given[1])
    assert float(lon) == pytest.approx(expected[0], abs=1e-12)
    assert float(lat) == pytest.approx(expected[1], abs=1e-12)


def test_shanghai_peoples_square_offset_and_round_trip() -> None:
    lon, lat = 121.4737, 31.2304
    g_lon, g_lat = wgs84_to_gcj02(lon=lon, lat=lat)
    assert float(g_lon) - lon == pytest.approx(0.0045, abs=0.0003)
    assert float(g_lat) - lat == pytest.approx(-0.0020, abs=0.0003)
    assert 300 < haversine_m(lon, lat, g_lon, g_lat) < 600
    w_lon, w_lat = gcj02_to_wgs84(lon=g_lon, lat=g_lat)
    assert float(w_lon) == pytest.approx(lon, abs=1e-10)
    assert float(w_lat) == pytest.approx(lat, abs=1e-10)


def test_exact_inverse_differs_from_published_naive_inverse() -> None:
    # wandergis' gcj02_to_wgs84(116.404, 39.915) is the one-step approximation (6 cm off in
    # Beijing, where the offset field is flat; up to ~5 m elsewhere in China).
    naive_lon, naive_lat = 116.39775550083061, 39.91359571849836
    lon, lat = gcj02_to_wgs84(lon=116.404, lat=39.915)
    assert 0.01 < haversine_m(lon, lat, naive_lon, naive_lat) < 5
    f_lon, f_lat = wgs84_to_gcj02(lon=lon, lat=lat)
    assert haversine_m(f_lon, f_lat, 116.404, 39.915) < 1e-4
    assert haversine_m(*wgs84_to_gcj02(lon=naive_lon, lat=naive_lat), 116.404, 39.915) > 0.01


# --- exact inverses over China --------------------------------------------------------------


def test_gcj02_inverse_is_exact_over_china() -> None:
    g_lon, g_lat = china_grid()
    w_lon, w_lat = gcj02_to_wgs84(lon=g_lon, lat=g_lat)
    f_lon, f_lat = wgs84_to_gcj02(lon=w_lon, lat=w_lat)
    exact_err = np.maximum(np.abs(f_lon - g_lon), np.abs(f_lat - g_lat))
    assert exact_err.max() < 1e-9
    assert haversine_m(f_lon, f_lat, g_lon, g_lat).max() < 0.01

    o_lon, o_lat = wgs84_to_gcj02(lon=g_lon, lat=g_lat)  # naive: p - (f(p) - p)
    n_lon, n_lat = 2 * g_lon - o_lon, 2 * g_lat - o_lat
    nf_lon, nf_lat = wgs84_to_gcj02(lon=n_lon, lat=n_lat)
    naive_err = np.maximum(np.abs(nf_lon - g_lon), np.abs(nf_lat - g_lat))
    assert exact_err.max() * 100 <= naive_err.max()
    assert haversine_m(nf_lon, nf_lat, g_lon, g_lat).max() > 0.5  # the naive one is metres off


def test_gcj02_round_trip_from_wgs84_over_china() -> None:
    lon, lat = china_grid()
    g_lon, g_lat = wgs84_to_gcj02(lon=lon, lat=lat)
    w_lon, w_lat = gcj02_to_wgs84(lon=g_lon, lat=g_lat)
    assert np.abs(w_lon - lon).max() < 1e-9
    assert np.abs(w_lat - lat).max() < 1e-9


def test_bd09_inverse_is_exact_over_china() -> None:
    b_lon, b_lat = china_grid()
    g_lon, g_lat = bd09_to_gcj02(lon=b_lon, lat=b_lat)
    f_lon, f_lat = gcj02_to_bd09(lon=g_lon, lat=g_lat)
    assert np.abs(f_lon - b_lon).max() < 1e-10
    assert np.abs(f_lat - b_lat).max() < 1e-10
    assert haversine_m(f_lon, f_lat, b_lon, b_lat).max() < 0.01

    # the published one-step BD-09 -> GCJ-02 formula, for comparison
    x, y = b_lon - 0.0065, b_lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * X_PI)
    nf_lon, nf_lat = gcj02_to_bd09(lon=z * np.cos(theta), lat=z * np.sin(theta))
    naive_err = np.maximum(np.abs(nf_lon - b_lon), np.abs(nf_lat - b_lat))
    exact_err = np.maximum(np.abs(f_lon - b_lon), np.abs(f_lat - b_lat))
    assert exact_err.max() * 100 <= naive_err.max()


def test_bd09_wgs84_round_trips() -> None:
    lon, lat = china_grid()
    b_lon, b_lat = wgs84_to_bd09(lon=lon, lat=lat)
    w_lon, w_lat = bd09_to_wgs84(lon=b_lon, lat=b_lat)
    assert np.abs(w_lon - lon).max() < 1e-9
    assert np.abs(w_lat - lat).max() < 1e-9
    r_lon, r_lat = bd09_to_wgs84(lon=lon, lat=lat)
    b_lon, b_lat = wgs84_to_bd09(lon=r_lon, lat=r_lat)
    assert haversine_m(b_lon, b_lat, lon, lat).max() < 0.01


# --- outside China, shapes, NaN ------------------------------------------------------------

OUTSIDE_CHINA = [
    pytest.param(-0.1276, 51.5072, id="london"),
    pytest.param(-74.006, 40.7128, id="new-york"),
    pytest.param(151.2093, -33.8688, id="sydney"),
    pytest.param(71.9, 40.0, id="just-west-of-box"),
    pytest.param(121.0, 56.0, id="just-north-of-box"),
    pytest.param(121.0, 0.5, id="just-south-of-box"),
]


@pytest.mark.parametrize(("lon", "lat"), OUTSIDE_CHINA)
@pytest.mark.parametrize("func", [wgs84_to_gcj02, gcj02_to_wgs84])
def test_gcj02_is_identity_outside_china(func: Converter, lon: float, lat: float) -> None:
    out_lon, out_lat = func(lon=lon, lat=lat)
    assert float(out_lon) == lon
    assert float(out_lat) == lat


def test_mixed_inside_and_outside_points() -> None:
    lon = np.array([121.4737, -0.1276, 116.404])
    lat = np.array([31.2304, 51.5072, 39.915])
    g_lon, g_lat = wgs84_to_gcj02(lon=lon, lat=lat)
    assert (g_lon[1], g_lat[1]) == (lon[1], lat[1])
    assert np.all(g_lon[[0, 2]] != lon[[0, 2]])
    w_lon, w_lat = gcj02_to_wgs84(lon=g_lon, lat=g_lat)
    np.testing.assert_allclose(w_lon, lon, rtol=0, atol=1e-10)
    np.testing.assert_allclose(w_lat, lat, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    "func",
    [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84],
)
def test_conversions_return_arrays_broadcast_and_pass_nan(func: Converter) -> None:
    scalar = func(lon=121.47, lat=31.23)
    assert all(isinstance(a, np.ndarray) and a.shape == () for a in scalar)

    lon = np.array([[121.47, np.nan], [120.0, 122.0]])
    out_lon, out_lat = func(lon=lon, lat=31.23)
    assert out_lon.shape == out_lat.shape == (2, 2)
    assert out_lon.dtype == np.float64
    assert np.isnan(out_lon[0, 1])
    assert np.isfinite(out_lon[[0, 1, 1], [0, 0, 1]]).all()

    empty = func(lon=np.array([]), lat=np.array([]))
    assert [a.shape for a in empty] == [(0,), (0,)]


def test_inputs_are_not_modified() -> None:
    lon, lat = np.array([121.47, 121.5]), np.array([31.23, 31.2])
    before = lon.copy(), lat.copy()
    gcj02_to_wgs84(lon=lon, lat=lat)
    wgs84_to_gcj02(lon=lon, lat=lat)
    to_wgs84(lon=lon, lat=lat, crs=parse_crs("wgs84"))[0][:] = 0
    np.testing.assert_array_equal(lon, before[0])
    np.testing.assert_array_equal(lat, before[1])


# --- the answer key: Shanghai districts -----------------------------------------------------


@pytest.mark.reference_data
def test_gcj02_districts_match_wgs84_answer_key_within_1m() -> None:
    districts_gcj02 = reference("shanghai_districts_datav_gcj02.geojson")
    districts_wgs84 = reference("shanghai_districts_wgs84.geojson")
    gcj = gpd.read_file(districts_gcj02, engine="pyogrio").set_index("adcode").sort_index()
    key = gpd.read_file(districts_wgs84, engine="pyogrio").set_index("adcode").sort_index()
    assert len(gcj) == 16
    assert list(gcj.index) == list(key.index)

    converted = geometry_to_wgs84(gcj.geometry.to_numpy(), parse_crs("GCJ-02"))
    assert isinstance(converted, np.ndarray)
    assert len(converted) == len(key)
    for adcode, ours, theirs, original in zip(
        key.index, converted, key.geometry, gcj.geometry, strict=True
    ):
        assert ours.geom_type == theirs.geom_type, adcode
        a = shapely.get_coordinates(ours)
        b = shapely.get_coordinates(theirs)
        assert a.shape == b.shape, adcode
        dist = haversine_m(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
        assert dist.max() < 1.0, (adcode, dist.max())
        o = shapely.get_coordinates(original)
        shift = haversine_m(o[:, 0], o[:, 1], a[:, 0], a[:, 1])
        assert shift.min() > 300 and shift.max() < 600, adcode  # the GCJ-02 offset was removed


# --- geometry_to_wgs84 -----------------------------------------------------------------------


def test_geometry_to_wgs84_single_geometry_none_and_z() -> None:
    gcj = parse_crs("gcj02")
    point = shapely.Point(121.4737, 31.2304)
    out = geometry_to_wgs84(point, gcj)
    assert isinstance(out, shapely.Point)
    lon, lat = gcj02_to_wgs84(lon=121.4737, lat=31.2304)
    assert (out.x, out.y) == (float(lon), float(lat))

    arr = np.array([point, None, shapely.Point(121.4737, 31.2304, 12.5)], dtype=object)
    res = geometry_to_wgs84(arr, gcj)
    assert res[1] is None
    assert res[2].has_z and res[2].z == 12.5
    assert (res[2].x, res[2].y) == (out.x, out.y)
    assert geometry_to_wgs84(np.array([], dtype=object), gcj).shape == (0,)


def test_geometry_to_wgs84_identity_for_wgs84() -> None:
    poly = shapely.box(121.0, 31.0, 121.1, 31.1)
    assert geometry_to_wgs84(poly, parse_crs("WGS84")) is poly
    arr = np.array([poly], dtype=object)
    out = geometry_to_wgs84(arr, parse_crs("EPSG:4326"))
    assert out is not arr and out[0] is poly
    from_list = geometry_to_wgs84([poly, None], parse_crs("wgs84"))
    assert isinstance(from_list, np.ndarray) and from_list[0] is poly and from_list[1] is None
    assert geometry_to_wgs84(None, parse_crs("gcj02")) is None


def test_geometry_to_wgs84_from_projected_epsg() -> None:
    utm = parse_crs("EPSG:32651")
    fwd = Transformer.from_crs(4326, 32651, always_xy=True)
    x, y = fwd.transform(121.4737, 31.2304)
    out = geometry_to_wgs84(shapely.LineString([(x, y), (x + 1000.0, y)]), utm)
    coords = shapely.get_coordinates(out)
    assert coords[0] == pytest.approx((121.4737, 31.2304), abs=1e-9)
    # UTM scale at 1.5° from the central meridian is ~0.99989: 1000 grid metres ≈ 1000.1 m.
    assert geodesic_m(*coords[0], *coords[1]) == pytest.approx(1000.0, rel=1e-3)


# --- to_wgs84 --------------------------------------------------------------------------------


def test_to_wgs84_dispatches_on_crs() -> None:
    lon, lat = 121.4737, 31.2304
    g = wgs84_to_gcj02(lon=lon, lat=lat)
    b = wgs84_to_bd09(lon=lon, lat=lat)
    cases: list[tuple[str, tuple[npt.ArrayLike, npt.ArrayLike]]] = [
        ("gcj02", g),
        ("bd09", b),
        ("wgs84", (lon, lat)),
    ]
    for spec, (x, y) in cases:
        out = to_wgs84(lon=x, lat=y, crs=parse_crs(spec))
        assert float(out[0]) == pytest.approx(lon, abs=1e-9), spec
        assert float(out[1]) == pytest.approx(lat, abs=1e-9), spec


def test_to_wgs84_projected_epsg_takes_x_y_in_metres() -> None:
    # UTM 51N: central meridian 123°E, false easting 500 km, equator at northing 0.
    lon, lat = to_wgs84(lon=[500000.0, 500000.0], lat=[0.0, 1000.0], crs=parse_crs("epsg:32651"))
    assert lon[0] == pytest.approx(123.0, abs=1e-12)
    assert lat[0] == pytest.approx(0.0, abs=1e-12)
    # on the central meridian the scale factor is 0.9996: 1000 grid metres = 1000.4 m.
    assert geodesic_m(lon[0], lat[0], lon[1], lat[1]) == pytest.approx(1000.4, rel=1e-4)


def test_to_wgs84_geographic_epsg_is_lon_first() -> None:
    # CGCS2000 is defined lat/lon but always_xy keeps lon first; it is within ~1 m of WGS-84.
    lon, lat = to_wgs84(lon=121.4737, lat=31.2304, crs=parse_crs("EPSG:4490"))
    assert haversine_m(lon, lat, 121.4737, 31.2304) < 1.0


def test_to_wgs84_rejects_hand_built_epsg_spec_without_crs() -> None:
    with pytest.raises(ValueError, match="parse_crs"):
        to_wgs84(lon=0.0, lat=0.0, crs=CrsSpec("EPSG:32651"))


# --- parse_crs -------------------------------------------------------------------------------

GOOD_SPECS = [
    ("wgs84", "wgs84"),
    ("WGS84", "wgs84"),
    ("WGS-84", "wgs84"),
    ("wgs-84", "wgs84"),
    ("EPSG:4326", "wgs84"),
    ("epsg:4326", "wgs84"),
    ("  wgs84 ", "wgs84"),
    ("gcj02", "gcj02"),
    ("GCJ02", "gcj02"),
    ("GCJ-02", "gcj02"),
    ("bd09", "bd09"),
    ("BD-09", "bd09"),
    ("Bd09", "bd09"),
    ("EPSG:32651", "EPSG:32651"),
    ("epsg:32651", "EPSG:32651"),
    ("EPSG:4490", "EPSG:4490"),
    ("EPSG:3857", "EPSG:3857"),
    ("EPSG:4547", "EPSG:4547"),
]


@pytest.mark.parametrize(("spec", "name"), GOOD_SPECS)
def test_parse_crs_accepts(spec: str, name: str) -> None:
    parsed = parse_crs(spec)
    assert parsed.name == name
    assert str(parsed) == name
    if name.startswith("EPSG:"):
        assert isinstance(parsed.crs, CRS)
        assert parsed.crs.to_epsg() == int(name.removeprefix("EPSG:"))
    else:
        assert parsed.crs is None
    assert parsed.is_wgs84 == (name == "wgs84")


BAD_SPECS = [
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("wgs", id="truncated"),
    pytest.param("wgs 84", id="space"),
    pytest.param("gcj", id="gcj-no-number"),
    pytest.param("mars", id="nickname"),
    pytest.param("4326", id="bare-code"),
    pytest.param("EPSG:", id="no-code"),
    pytest.param("EPSG:abc", id="non-numeric"),
    pytest.param("EPSG:-4326", id="negative"),
    pytest.param("EPSG:4326.5", id="fraction"),
    pytest.param("EPSG:999999", id="unknown-code"),
    pytest.param("EPSG:7030", id="ellipsoid-not-crs"),
    pytest.param("EPSG:4978", id="geocentric"),
    pytest.param("EPSG:4979", id="geographic-3d"),
    pytest.param("EPSG:5773", id="vertical"),
    pytest.param("EPSG:5498", id="compound"),
    pytest.param("ESRI:102100", id="other-authority"),
    pytest.param("+proj=longlat +datum=WGS84", id="proj-string"),
]


@pytest.mark.parametrize("spec", BAD_SPECS)
def test_parse_crs_rejects(spec: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        parse_crs(spec)
    err = excinfo.value
    assert err.field == "crs"
    for form in ("wgs84", "gcj02", "bd09", "EPSG:"):
        assert form in err.reason


def test_parse_crs_uses_given_field_name() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        parse_crs("nonsense", field="source_crs")
    assert excinfo.value.field == "source_crs"
    assert str(excinfo.value).startswith("source_crs: ")


def test_parse_crs_rejects_non_string() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        parse_crs(4326)  # type: ignore[arg-type]
    assert excinfo.value.field == "crs"


def test_crs_spec_equality_uses_name() -> None:
    assert parse_crs("EPSG:32651") == parse_crs("epsg:32651")
    assert hash(parse_crs("GCJ-02")) == hash(parse_crs("gcj02"))
    assert parse_crs("EPSG:4326") == parse_crs("WGS-84")


# --- metric CRSs -----------------------------------------------------------------------------


def test_local_metric_crs_is_metric_and_centred() -> None:
    crs = local_metric_crs(lon=121.4737, lat=31.2304)
    assert crs.is_projected
    assert crs.axis_info[0].unit_name == "metre"
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(121.4737, 31.2304)
    assert (x, y) == pytest.approx((0.0, 0.0), abs=1e-6)


def test_metric_transformers_round_trip_and_distances() -> None:
    to_m, to_deg = metric_transformers(lon=121.4737, lat=31.2304)
    lon = np.array([121.4737, 121.50, 121.45])
    lat = np.array([31.2304, 31.25, 31.20])
    x, y = to_m.transform(lon, lat)
    assert np.hypot(x[0], y[0]) < 1000  # centre rounded to 0.01°
    d_planar = np.hypot(x[1] - x[2], y[1] - y[2])
    assert d_planar == pytest.approx(haversine_m(lon[1], lat[1], lon[2], lat[2]), rel=1e-3)
    back_lon, back_lat = to_deg.transform(x, y)
    np.testing.assert_allclose(back_lon, lon, rtol=0, atol=1e-9)
    np.testing.assert_allclose(back_lat, lat, rtol=0, atol=1e-9)


def test_metric_transformers_cached_per_rounded_centre() -> None:
    a = metric_transformers(lon=121.4737, lat=31.2304)
    b = metric_transformers(lon=121.4712, lat=31.2291)
    c = metric_transformers(lon=121.60, lat=31.2304)
    assert a is b
    assert a is not c


@pytest.mark.parametrize(
    ("lon", "lat"), [(float("nan"), 31.0), (121.0, float("inf")), (200.0, 0.0)]
)
def test_metric_transformers_reject_bad_centre(lon: float, lat: float) -> None:
    with pytest.raises(ValueError, match="centre"):
        metric_transformers(lon=lon, lat=lat)
