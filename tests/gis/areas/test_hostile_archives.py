"""Hostile boundary files through the real ``wangge import`` command (issue 16): zip bombs,
archives lying about their sizes, path tricks and symlinks inside a zip, and a polygon of
two million vertices. Each exits 2 with a message naming the limit or the member, writes
nothing to the database and nothing to disk."""

from __future__ import annotations

import stat
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from tests.gis.areas import test_import_errors
from tests.gis.areas.test_import_errors import PARENT, assert_rejected, boundaries, run
from tests.gis.areas.test_importer import feature, square, write_geojson

base = test_import_errors.base  # the fixture: street S and micro-grid S-M1, committed


SHP_PARENT = ("--parent-field", "parent")  # Shapefile columns have at most 10 characters


def shapefile_zip(
    folder: Path, geometry: shapely.Geometry | None = None, name: str = "grids"
) -> Path:
    """A real zipped Shapefile of micro-grid S-M2 inside street S (of the ``base`` fixture),
    by default a square east of S-M1."""
    frame = gpd.GeoDataFrame(
        {"code": ["S-M2"], "name": ["第二微网格"], "parent": ["S"]},
        geometry=[geometry or shapely.box(0.05, 0.0, 0.1, 0.05)],
        crs="EPSG:4326",
    )
    shp = folder / "shp" / f"{name}.shp"
    shp.parent.mkdir()
    frame.to_file(shp)
    path = folder / f"{name}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(shp.parent.iterdir()):
            archive.write(part, part.name)
    return path


def with_member(path: Path, info: zipfile.ZipInfo, data: bytes) -> Path:
    """Add one member (a name trick, a link, a bomb) to the archive at ``path``."""
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(info, data)
    return path


def circle(n: int) -> np.ndarray:
    """``n`` vertices of a circle inside street S, east of micro-grid S-M1."""
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([0.075 + 0.02 * np.cos(angles), 0.025 + 0.02 * np.sin(angles)])


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def test_a_clean_zipped_shapefile_still_imports(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = shapefile_zip(tmp_path)
    assert run(boundaries(archive, "micro_grid", *SHP_PARENT), monkeypatch) == 0


@pytest.mark.parametrize(
    "name, reason",
    [
        ("../../etc/cron.d/x.shp", "leaving the archive"),
        ("/etc/passwd", "an absolute path"),
        ("C:\\Windows\\x.dbf", "an absolute path"),
        ("shp/../../x.prj", "leaving the archive"),
    ],
)
def test_path_tricks_are_refused(
    name: str,
    reason: str,
    base: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    archive = with_member(shapefile_zip(tmp_path), zipfile.ZipInfo(name), b"x")
    before = files_under(tmp_path.parent)
    assert_rejected(
        boundaries(archive, "micro_grid", *SHP_PARENT),
        [reason, "refused"],
        base,
        monkeypatch,
        capsys,
    )
    assert files_under(tmp_path.parent) == before


def test_a_symlink_inside_the_zip_is_refused(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    link = zipfile.ZipInfo("link.txt")
    link.create_system = 3  # unix, so the mode bits count
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = with_member(shapefile_zip(tmp_path), link, b"/etc/passwd")
    assert_rejected(
        boundaries(archive, "micro_grid", *SHP_PARENT),
        ["symbolic link", "refused"],
        base,
        monkeypatch,
        capsys,
    )


def test_a_zip_bomb_is_refused_by_its_ratio(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # 64 MiB of zeros packs into ~64 KiB: a 1000:1 member; the limit is set below that
    monkeypatch.setenv("WANGGE_MAX_ARCHIVE_RATIO", "200")
    bomb = zipfile.ZipInfo("grids.dbf.bak")
    bomb.compress_type = zipfile.ZIP_DEFLATED
    archive = with_member(shapefile_zip(tmp_path), bomb, bytes(64 * 1024**2))
    assert archive.stat().st_size < 1024**2
    assert_rejected(
        boundaries(archive, "micro_grid", *SHP_PARENT),
        ["compressed", ":1", "WANGGE_MAX_ARCHIVE_RATIO", "before extracting"],
        base,
        monkeypatch,
        capsys,
    )


def _declare_size(path: Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size ``member`` declares, in its local and central headers."""
    raw = bytearray(path.read_bytes())
    name = member.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.find(signature)
        while at != -1:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if raw[name_at : name_at + len(name)] == name:
                struct.pack_into("<I", raw, at + offset, size)
            at = raw.find(signature, at + 4)
    path.write_bytes(bytes(raw))


def test_a_member_declaring_gigabytes_is_refused_before_extracting(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = with_member(shapefile_zip(tmp_path), zipfile.ZipInfo("big.dbf"), b"x" * 100)
    _declare_size(archive, "big.dbf", 0xFFFF_FFF0)  # 4 GiB, over the 2 GiB default
    assert_rejected(
        boundaries(archive, "micro_grid", *SHP_PARENT),
        ["expands to more than", "WANGGE_MAX_ARCHIVE_BYTES", "before extracting"],
        base,
        monkeypatch,
        capsys,
    )


def test_a_member_understating_its_size_is_refused(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hidden = zipfile.ZipInfo("grids.txt")
    hidden.compress_type = zipfile.ZIP_DEFLATED
    archive = with_member(shapefile_zip(tmp_path), hidden, bytes(8 * 1024**2))
    _declare_size(archive, "grids.txt", 1000)  # claims 1000 bytes, holds 8 MiB
    assert_rejected(
        boundaries(archive, "micro_grid", *SHP_PARENT),
        ["not a readable zip archive"],
        base,
        monkeypatch,
        capsys,
    )


def test_a_polygon_of_two_million_vertices_is_refused(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ring = circle(2_000_000)
    coordinates = ",".join(f"[{x:.7f},{y:.7f}]" for x, y in ring.tolist())
    path = tmp_path / "huge.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":'
        '"S-M2","name":"巨大","parent_code":"S"},"geometry":{"type":"Polygon","coordinates":'
        f"[[{coordinates},[{ring[0][0]:.7f},{ring[0][1]:.7f}]]]}}}}]}}"
    )
    assert path.stat().st_size > 30 * 1024**2
    assert_rejected(
        boundaries(path, "micro_grid", *PARENT),
        # GDAL's GeoJSON reader stops it first (OGR_GEOJSON_MAX_OBJ_SIZE); said as wangge's
        ["huge.geojson", "too large", "WANGGE_MAX_POLYGON_VERTICES"],
        base,
        monkeypatch,
        capsys,
    )


def test_the_vertex_limit_is_a_setting(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_geojson(
        tmp_path / "grids.geojson", [feature("S-M2", square(0.05, 0, 0.05), parent_code="S")]
    )
    monkeypatch.setenv("WANGGE_MAX_POLYGON_VERTICES", "4")
    assert_rejected(
        boundaries(path, "micro_grid", *PARENT),
        ["5 vertices; at most 4"],
        base,
        monkeypatch,
        capsys,
    )
    monkeypatch.setenv("WANGGE_MAX_POLYGON_VERTICES", "5")
    assert run(boundaries(path, "micro_grid", *PARENT), monkeypatch) == 0


def test_a_zipped_shapefile_of_two_million_vertices_is_refused(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = shapefile_zip(tmp_path, shapely.Polygon(circle(2_000_000)), name="huge")
    assert_rejected(
        boundaries(archive, "micro_grid", *SHP_PARENT),
        ["features[0]", "2,000,001 vertices", "WANGGE_MAX_POLYGON_VERTICES"],
        base,
        monkeypatch,
        capsys,
    )
