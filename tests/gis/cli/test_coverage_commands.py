"""``wangge coverage`` through the real CLI on the demo street: formats and exit codes."""

from __future__ import annotations

import json
import sys

import pytest

from gis.cli import main


def run(
    argv: list[str], demo_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of ``wangge coverage ARGV``."""
    monkeypatch.setenv("WANGGE_DATABASE_URL", demo_db)
    monkeypatch.setattr(sys, "argv", ["wangge", "coverage", *argv])
    status = 0
    try:
        main()
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_json_report_and_exit_1_on_errors(
    demo_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    status, out, err = run(["--format", "json"], demo_db, monkeypatch, capsys)
    assert status == 1
    report = json.loads(out)
    assert set(report) == {"generation", "area", "thresholds", "summary", "findings"}
    assert report["summary"]["error"] == 11
    # every check ran (incidents too) but the patrol one: the demo street has no patrol yet
    assert "19 of 20 checks: 11 errors" in err
    assert err.count("not run") == 1 and "not run: unpatrolled: no patrol" in err


def test_clean_selection_exits_0_and_table_lists_findings(
    demo_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    status, out, _ = run(
        ["--checks", "duplicate,orphan,staff_dangling"], demo_db, monkeypatch, capsys
    )
    assert status == 0 and out.splitlines()[0].split()[:3] == ["severity", "check", "area"]
    assert len(out.splitlines()) == 1  # header only: nothing found
    status, out, _ = run(
        ["--area", "310107016010", "--checks", "gap"], demo_db, monkeypatch, capsys
    )
    assert status == 1 and "310107016010-G01" in out.splitlines()[1]


def test_geojson_and_threshold_override(
    demo_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    status, out, _ = run(
        ["--checks", "gap,sliver", "--format", "geojson", "--set", "gap_min_m2=500"],
        demo_db,
        monkeypatch,
        capsys,
    )
    collection = json.loads(out)
    assert status == 1 and collection["type"] == "FeatureCollection"
    assert [f["properties"]["check"] for f in collection["features"]] == ["sliver"]
    assert collection["features"][0]["geometry"]["type"] == "Polygon"
    assert collection["thresholds"]["gap_min_m2"] == 500


@pytest.mark.parametrize(
    ("argv", "culprit"),
    [
        (["--checks", "bogus"], "checks"),
        (["--area", "nowhere"], "area"),
        (["--set", "gap_min_m2=-3"], "thresholds.gap_min_m2"),
        (["--set", "nonsense"], "--set"),
        (["--format", "xml"], "--format"),
    ],
)
def test_bad_input_exits_2_naming_the_culprit(
    argv: list[str],
    culprit: str,
    demo_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    status, out, err = run(argv, demo_db, monkeypatch, capsys)
    assert status == 2 and out == "" and culprit in err
