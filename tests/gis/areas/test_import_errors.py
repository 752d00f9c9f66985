"""Bad input through the real ``wangge import`` command: a precise error naming the file,
feature and field, and a database left exactly as it was (committed state compared)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gis.cli import main
from tests.conftest import snapshot
from tests.gis.areas.test_importer import feature, square, write_geojson


def boundaries(path: Path, level: str, *options: str) -> list[str]:
    """``wangge import boundaries PATH --level LEVEL`` with the code/name columns of these
    files, then ``options``."""
    return [
        "import",
        "boundaries",
        str(path),
        "--level",
        level,
        "--code-field",
        "code",
        "--name-field",
        "name",
        *options,
    ]


PARENT = ("--parent-field", "parent_code")


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["wangge", *argv])
    try:
        main()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def assert_rejected(
    argv: list[str],
    expected: list[str],
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run the command; it must exit 2, print every ``expected`` piece, and leave the
    database exactly as it was."""
    before = snapshot(database)
    capsys.readouterr()
    code = run(argv, monkeypatch)
    err = capsys.readouterr().err
    assert code == 2, err
    for needle in expected:
        assert needle in err, f"{needle!r} not in {err!r}"
    assert snapshot(database) == before


@pytest.fixture
def base(fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A committed database holding street S and micro-grid S-M1 (generation 1, current)."""
    street = write_geojson(tmp_path / "street.geojson", [feature("S", square(0, 0, 0.1))])
    micro = write_geojson(
        tmp_path / "micro.geojson", [feature("S-M1", square(0, 0, 0.05), parent_code="S")]
    )
    assert run(boundaries(street, "street"), monkeypatch) == 0
    assert run(boundaries(micro, "micro_grid", *PARENT, "--activate"), monkeypatch) == 0
    return fresh_db


def grid_file(tmp_path: Path, *features: dict) -> Path:
    return write_geojson(tmp_path / "grids.geojson", list(features))


CASES = {
    "empty geometry": (
        lambda p: grid_file(p, feature("G1", square(0, 0)), feature("G2", None)),
        ["features[1]", "'G2'", "geometry", "empty"],
    ),
    "empty polygon": (
        lambda p: grid_file(p, feature("G1", [], kind="Polygon")),
        ["features[0]", "geometry", "empty"],
    ),
    "duplicate code": (
        lambda p: grid_file(p, feature("G1", square(0, 0)), feature("G1", square(0.01, 0))),
        ["features[0]", "features[1]", "'code'", "duplicate code"],
    ),
    "missing code": (
        lambda p: grid_file(p, feature("G1", square(0, 0)), feature(None, square(0.01, 0))),
        ["features[1]", "'code'", "missing code"],
    ),
    "unknown parent": (
        lambda p: grid_file(p, feature("G1", square(0, 0), parent_code="X")),
        ["features[0]", "'G1'", "parent", "unknown parent 'X'"],
    ),
    "parent of a deeper level": (
        lambda p: grid_file(p, feature("G1", square(0, 0), parent_code="S-M1")),
        ["features[0]", "'G1'", "parent", "micro_grid, which is not above grid"],
    ),
    "code used by another level": (
        lambda p: grid_file(p, feature("S", square(0, 0))),
        ["features[0]", "'S'", "code", "already used by a street"],
    ),
    "point file": (
        lambda p: grid_file(p, feature("G1", [0.0, 0.0], kind="Point")),
        ["grids.geojson", "Point", "geometry"],
    ),
    "line file": (
        lambda p: grid_file(p, feature("G1", [[0, 0], [1, 1]], kind="LineString")),
        ["grids.geojson", "LineString", "geometry"],
    ),
    "a line among polygons": (
        lambda p: grid_file(
            p, feature("G1", square(0, 0)), feature("G2", [[0, 0], [1, 1]], kind="LineString")
        ),
        ["features[1]", "'G2'", "geometry", "LineString is not a polygon"],
    ),
    "unreadable file": (
        lambda p: _write(p / "grids.geojson", "{not json"),
        ["grids.geojson", "cannot read"],
    ),
    "missing file": (lambda p: p / "nope.geojson", ["nope.geojson", "no such file"]),
    "no features": (lambda p: grid_file(p), ["grids.geojson", "no features"]),
    "projected coordinates read as wgs84": (
        lambda p: grid_file(p, feature("G1", square(350000, 3460000, 100))),
        ["features[0]", "geometry", "outside lon -180..180"],
    ),
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_boundary_file_names_culprit_and_changes_nothing(
    case: str,
    base: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make, expected = CASES[case]
    argv = boundaries(make(tmp_path), "grid", *PARENT, "--activate")
    assert_rejected(argv, expected, base, monkeypatch, capsys)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--level", "parish"], ["level", "unknown level 'parish'"]),
        (["--crs", "mars"], ["crs", "mars"]),
        (["--code-field", "nope"], ["no column 'nope'", "--code-field"]),
    ],
)
def test_bad_options_name_the_option(
    options: list[str],
    expected: list[str],
    base: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = grid_file(tmp_path, feature("G1", square(0, 0), parent_code="S"))
    args = {"--level": "grid", "--code-field": "code", "--name-field": "name"}
    args.update(dict(zip(options[::2], options[1::2], strict=True)))
    argv = ["import", "boundaries", str(path)] + [x for kv in args.items() for x in kv]
    assert_rejected(argv, expected, base, monkeypatch, capsys)


def test_dry_run_reports_and_writes_nothing(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = grid_file(tmp_path, feature("G1", square(0, 0), parent_code="S"))
    before = snapshot(base)
    capsys.readouterr()
    assert run(boundaries(path, "grid", *PARENT, "--dry-run"), monkeypatch) == 0
    out = capsys.readouterr().out
    assert "added 1" in out and "dry run: nothing was written" in out
    assert snapshot(base) == before


def test_one_bad_feature_rejects_the_whole_file(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = [feature(f"G{i}", square(i * 0.01, 0), parent_code="S") for i in range(50)]
    path = grid_file(tmp_path, *good, feature("G50", square(0.5, 0), parent_code="X"))
    before = snapshot(base)
    assert run(boundaries(path, "grid", *PARENT), monkeypatch) == 2
    assert snapshot(base) == before


def _buildings(path: Path, *rows: tuple[str | None, float, object]) -> Path:
    return write_geojson(
        path,
        [feature(code, square(x, 0, 0.001), households=households) for code, x, households in rows],
    )


REGISTER_CASES = {
    "buildings: duplicate code": (
        "buildings",
        lambda p: _buildings(p / "b.geojson", ("B1", 0, 10), ("B1", 0.01, 10)),
        ["b.geojson", "features[1]", "'code'", "duplicate code"],
    ),
    "buildings: households not a count": (
        "buildings",
        lambda p: _buildings(p / "b.geojson", ("B1", 0, 10), ("B2", 0.01, "many")),
        ["features[1]", "'B2'", "households", "not a whole number"],
    ),
    "buildings: a point file": (
        "buildings",
        lambda p: write_geojson(p / "b.geojson", [feature("B1", [0.0, 0.0], kind="Point")]),
        ["b.geojson", "Point", "geometry"],
    ),
    "staff: unknown role and unknown area": (
        "staff",
        lambda p: _write(
            p / "s.csv",
            "code,name,role,phone,area_code,building_code\n"
            "P1,王芳,mayor,1,S-M1,\nP2,李强,full_time_member,2,NOPE,\n",
        ),
        [
            "s.csv",
            "features[0]",
            "'role'",
            "unknown role 'mayor'",
            "features[1]",
            "'area_code'",
            "unknown area 'NOPE'",
        ],
    ),
    "staff: missing column": (
        "staff",
        lambda p: _write(p / "s.csv", "code,name,role\nP1,王芳,micro_grid_leader\n"),
        ["s.csv", "missing column(s) area_code, building_code"],
    ),
    "facilities: unknown kind": (
        "facilities",
        lambda p: write_geojson(
            p / "f.geojson",
            [
                {
                    "type": "Feature",
                    "properties": {"code": "F1", "kind": "casino", "name": "x"},
                    "geometry": {"type": "Point", "coordinates": [0.01, 0.01]},
                }
            ],
        ),
        ["f.geojson", "features[0]", "'kind'", "unknown kind 'casino'"],
    ),
}


@pytest.mark.parametrize("case", sorted(REGISTER_CASES))
def test_bad_register_file_names_culprit_and_changes_nothing(
    case: str,
    base: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kind, make, expected = REGISTER_CASES[case]
    assert_rejected(["import", kind, str(make(tmp_path))], expected, base, monkeypatch, capsys)


def test_replace_refuses_removing_buildings_staff_answer_for(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    both = _buildings(tmp_path / "both.geojson", ("B1", 0, 10), ("B2", 0.01, 10))
    assert run(["import", "buildings", str(both)], monkeypatch) == 0
    staff = _write(
        tmp_path / "s.csv",
        "code,name,role,phone,area_code,building_code\nP9,赵敏,building_team_leader,1,,B2\n",
    )
    assert run(["import", "staff", str(staff)], monkeypatch) == 0
    only_b1 = _buildings(tmp_path / "b1.geojson", ("B1", 0, 10))
    for extra in ([], ["--dry-run"]):
        assert_rejected(
            ["import", "buildings", str(only_b1), "--replace", *extra],
            ["b1.geojson", "--replace would remove 1 building(s)", "B2 (staff P9 赵敏)"],
            base,
            monkeypatch,
            capsys,
        )
