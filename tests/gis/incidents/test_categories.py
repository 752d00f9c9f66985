"""Categories are user data: validated whole, imported all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection

from gis.errors import Conflict, InvalidInput
from gis.incidents.categories import (
    DEFAULT_FILE,
    import_categories,
    load_categories,
    read_categories,
)

HEADER = "code,name,sla_hours,clock,duplicate_radius_m,duplicate_window_hours,department\n"


def test_shipped_file_is_valid() -> None:
    cats = read_categories(DEFAULT_FILE)
    assert {c.clock for c in cats} == {"working", "calendar"}
    assert all(c.sla_hours > 0 for c in cats)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("a,A,0,working,10,10,x", "sla_hours"),
        ("a,A,abc,working,10,10,x", "sla_hours"),
        ("a,A,4,weekly,10,10,x", "clock"),
        ("a,A,4,working,-1,10,x", "duplicate_radius_m"),
        ("a,,4,working,10,10,x", "name"),
        (",A,4,working,10,10,x", "code"),
        ("a,A,4,working,10,nan,x", "duplicate_window_hours"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, row: str, field: str) -> None:
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "ok,好,4,calendar,10,10,x\n" + row + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        read_categories(path)
    assert caught.value.field == field and "line 3" in caught.value.reason


def test_repeated_code_and_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "a,A,4,working,10,10,x\na,B,4,working,10,10,x\n")
    with pytest.raises(InvalidInput, match="repeats line 2"):
        read_categories(path)
    path.write_text("code,name\na,A\n")
    with pytest.raises(InvalidInput) as caught:
        read_categories(path)
    assert caught.value.field == "sla_hours"


def test_import_dry_run_and_replace(sconn: Connection, tmp_path: Path) -> None:
    before = load_categories(sconn)
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "garbage,垃圾,6,working,50,24,市容所\nnew_one,新,4,calendar,0,0,\n")
    dry = import_categories(sconn, path, replace=True, dry_run=True)
    assert dry.added == ["new_one"] and dry.changed == ["garbage"] and len(dry.removed) == 8
    assert load_categories(sconn) == before
    import_categories(sconn, path)
    after = load_categories(sconn)
    assert after["garbage"].sla_hours == 6 and "new_one" in after and "noise" in after


def test_removing_a_used_category_is_refused(
    sconn: Connection, ctx: object, tmp_path: Path
) -> None:
    from gis.incidents.intake import intake
    from tests.gis.incidents.conftest import NOW, body

    intake(sconn, ctx, [body(category="noise")], now=NOW)  # type: ignore[arg-type]
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "garbage,垃圾,6,working,50,24,市容所\n")
    with pytest.raises(Conflict, match="noise"):
        import_categories(sconn, path, replace=True)
    assert "noise" in load_categories(sconn)
