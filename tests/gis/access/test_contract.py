"""One owner of access, checked on the source: no module outside ``gis/access`` decides scope
itself. It neither walks the area hierarchy downwards, nor filters incidents by their
ownership chain, nor reads a key's scope off the principal, nor brings back one of the four
mechanisms this package replaced; and the API builds the :class:`~gis.access.Scope` in one
dependency (``api/scope.py``), nowhere else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

OWNER = ROOT / "gis" / "access"
#: What deciding scope looks like, each with why it is the owner's business.
FORBIDDEN: dict[str, re.Pattern[str]] = {
    # areas below an area: a recursive walk down parent_code (walking up a chain is fine)
    "a walk down the hierarchy": re.compile(
        r"JOIN\s+\w+\s+(\w+\s+)?ON\s+\w+\.parent_code\s*=\s*\w+\.code"
        r"|parent_code\s*==\s*\w+\.c\.code"
    ),
    # incidents owned below an area: a test on the stored ownership chain
    "a test on the ownership chain": re.compile(
        r"area_codes\s*(@>|&&|\.contains\(|\.overlap\(|\.any\()"
        r"|\b(if|and|or|return|not)\s+[\w.]+\s+(not\s+)?in\s+\(?[\w.]*area_codes\b"
    ),
    # a key's scope read off the principal, to be checked by hand
    "a key's scope read by hand": re.compile(r"\b(caller|principal|who|p)\.scope\b"),
    # the mechanisms gis.access replaced
    "a retired scope mechanism": re.compile(
        r"\b(subtree_sql|SUBTREE_SQL|subtree_codes|inside_boundary_sql|check_within|"
        r"check_in_scope|in_scope|scoped_area|key_scope|covers)\s*\("
        r"|\bkey_scope\b|\b_SCOPE\s*=|within\s*=\s*caller\b"
    ),
}
#: Where a key's scope may be read as data: storing and listing keys, showing a key its own.
READS_THE_KEY = {
    ROOT / "gis" / "security" / "keys.py",
    ROOT / "gis" / "cli" / "keys_commands.py",
    ROOT / "api" / "routers" / "access.py",
    ROOT / "api" / "scope.py",
}


def sources() -> list[Path]:
    files = [*(ROOT / "gis").rglob("*.py"), *(ROOT / "api").rglob("*.py")]
    return sorted(
        p for p in files if OWNER not in p.parents and "migrations" not in p.relative_to(ROOT).parts
    )


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_outside_gis_access_builds_scope_sql(path: Path) -> None:
    text = path.read_text()
    found = {
        what: [m.group(0) for m in pattern.finditer(text)]
        for what, pattern in FORBIDDEN.items()
        if not (what == "a key's scope read by hand" and path in READS_THE_KEY)
    }
    assert not {k: v for k, v in found.items() if v}, f"{path} decides scope itself"


def test_the_api_builds_the_scope_in_one_dependency() -> None:
    builders = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "api").rglob("*.py")
        if re.search(r"\bScope(\.of)?\(", p.read_text())
    )
    assert builders == ["api/scope.py"]


@pytest.mark.parametrize(
    "sample",
    [
        "WITH RECURSIVE t(code) AS (SELECT :w UNION SELECT c.code FROM areas c "
        "JOIN t ON c.parent_code = t.code)",
        "select(AREAS.c.code).join(top, AREAS.c.parent_code == top.c.code)",
        "conds.append(C.area_codes.contains(cast(array([code]), ARRAY(Text))))",
        "AND i.area_codes @> ARRAY[CAST(:within AS text)]",
        "if within not in place.area_codes:",
        "if within in (other.area_codes or []):",
        "if caller.scope is None:",
        "check_in_scope(conn, incident_id, caller.scope)",
    ],
)
def test_the_contract_catches_what_it_forbids(sample: str) -> None:
    """The patterns match the code they replaced (so the contract cannot pass vacuously)."""
    assert any(p.search(sample) for p in FORBIDDEN.values())
