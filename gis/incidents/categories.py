"""Incident categories: user-edited data (``data/incident_categories.csv``), imported whole.

A category names its SLA (hours on a ``working`` or ``calendar`` clock), the duplicate rule
(radius in metres and window in hours) and the department that answers for it.
"""

from __future__ import annotations

import csv
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, select, text
from sqlalchemy.dialects.postgresql import insert

from gis.errors import InvalidInput, NotFound
from gis.store.models import INCIDENT_CATEGORIES, INCIDENTS

CLOCKS = ("working", "calendar")
COLUMNS = (
    "code",
    "name",
    "sla_hours",
    "clock",
    "duplicate_radius_m",
    "duplicate_window_hours",
    "department",
)
DEFAULT_FILE = Path(__file__).resolve().parents[2] / "data" / "incident_categories.csv"


@dataclass(frozen=True)
class Category:
    """One incident category (hours and metres as floats)."""

    code: str
    name: str
    sla_hours: float
    clock: str
    duplicate_radius_m: float
    duplicate_window_hours: float
    department: str = ""
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CategoryReport:
    """What an import did (or would do, on a dry run)."""

    added: list[str]
    changed: list[str]
    unchanged: list[str]
    removed: list[str]
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(row: dict[str, str], name: str, line: int, *, positive: bool) -> float:
    raw = (row.get(name) or "").strip()
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"line {line}: {raw!r} is not a number", field=name) from None
    if not (value > 0 if positive else value >= 0) or value != value or value == float("inf"):
        raise InvalidInput(
            f"line {line}: {raw} must be {'> 0' if positive else '≥ 0'} and finite", field=name
        )
    return value


def read_categories(path: Path) -> list[Category]:
    """Every category of a CSV file, validated; the first problem raises InvalidInput naming
    the column and line (line 1 is the header)."""
    if not path.exists():
        raise NotFound(f"no such file: {path}", field="file")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(
                f"missing column(s) {', '.join(missing)}; need {', '.join(COLUMNS)}",
                field=missing[0],
            )
        out: list[Category] = []
        seen: dict[str, int] = {}
        for line, row in enumerate(reader, start=2):
            if None in row:  # more cells than header columns: an unquoted comma, probably
                raise InvalidInput(
                    f"line {line}: more values than columns (quote text that has commas)",
                    field="file",
                )
            code = (row.get("code") or "").strip()
            if not code:
                raise InvalidInput(f"line {line}: empty code", field="code")
            if code in seen:
                raise InvalidInput(
                    f"line {line}: code {code!r} repeats line {seen[code]}", field="code"
                )
            seen[code] = line
            name = (row.get("name") or "").strip()
            if not name:
                raise InvalidInput(f"line {line}: empty name", field="name")
            clock = (row.get("clock") or "").strip()
            if clock not in CLOCKS:
                raise InvalidInput(
                    f"line {line}: clock {clock!r} is not one of {', '.join(CLOCKS)}",
                    field="clock",
                )
            out.append(
                Category(
                    code=code,
                    name=name,
                    sla_hours=_number(row, "sla_hours", line, positive=True),
                    clock=clock,
                    duplicate_radius_m=_number(row, "duplicate_radius_m", line, positive=False),
                    duplicate_window_hours=_number(
                        row, "duplicate_window_hours", line, positive=False
                    ),
                    department=(row.get("department") or "").strip(),
                    description=(row.get("description") or "").strip(),
                )
            )
    if not out:
        raise InvalidInput("the file has no categories", field="file")
    return out


def import_categories(
    conn: Connection, path: Path, *, replace: bool = False, dry_run: bool = False
) -> CategoryReport:
    """Validate the whole file, then upsert every category in the caller's transaction.

    With ``replace``, categories missing from the file are removed; one still used by an
    incident is refused (Conflict names it) and nothing is written.
    """
    from gis.errors import Conflict

    categories = read_categories(path)
    existing = {c.code: c for c in load_categories(conn).values()}
    new_codes = {c.code for c in categories}
    removed = sorted(set(existing) - new_codes) if replace else []
    if removed:
        used = sorted(
            conn.execute(
                select(INCIDENTS.c.category).distinct().where(INCIDENTS.c.category.in_(removed))
            ).scalars()
        )
        if used:
            raise Conflict(
                f"categories still used by incidents cannot be removed: {', '.join(used)}",
                field="code",
            )
    added = [c.code for c in categories if c.code not in existing]
    changed = [c.code for c in categories if c.code in existing and existing[c.code] != c]
    unchanged = [c.code for c in categories if existing.get(c.code) == c]
    if not dry_run:
        if removed:
            conn.execute(delete(INCIDENT_CATEGORIES).where(INCIDENT_CATEGORIES.c.code.in_(removed)))
        rows = [c.as_dict() for c in categories if c.code not in unchanged]
        if rows:
            stmt = insert(INCIDENT_CATEGORIES)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["code"],
                    set_={k: stmt.excluded[k] for k in rows[0] if k != "code"},
                ),
                rows,
            )
    return CategoryReport(added, changed, unchanged, removed, dry_run)


def load_categories(conn: Connection) -> dict[str, Category]:
    """Every stored category by code."""
    rows = conn.execute(select(INCIDENT_CATEGORIES).order_by(INCIDENT_CATEGORIES.c.code))
    return {r.code: Category(**r._asdict()) for r in rows}


def ensure_categories(conn: Connection) -> None:
    """Load the shipped category file when no category exists yet (first intake, demo)."""
    if not load_categories(conn):
        import_categories(conn, DEFAULT_FILE)


@dataclass(frozen=True)
class CategorySet:
    """The stored categories as of one ``incident_categories`` data version."""

    version: int
    by_code: dict[str, Category]
    codes: frozenset[str]


_LOAD_VERSIONED = text(
    "SELECT v.version, c.* FROM data_versions v LEFT JOIN incident_categories c ON true "
    "WHERE v.name = 'incident_categories' ORDER BY c.code"
)


def load_versioned(conn: Connection) -> CategorySet:
    """Every stored category with the data version they belong to (one query, one snapshot)."""
    version, by_code = 0, {}
    for r in conn.execute(_LOAD_VERSIONED):
        version = int(r.version)
        if r.code is not None:
            row = r._asdict()
            del row["version"]
            by_code[r.code] = Category(**row)
    return CategorySet(version, by_code, frozenset(by_code))


@dataclass
class CategoryCache:
    """The categories for one process, kept until their data version changes. Whoever uses
    them checks the version in the statement that depends on them (see
    :mod:`gis.incidents.single`) and calls :meth:`reload` when it moved, so a changed category
    is never applied late."""

    _current: CategorySet | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def current(self) -> CategorySet | None:
        """The cached set (None before the first :meth:`reload`)."""
        return self._current

    def get(self, conn: Connection) -> CategorySet:
        """The cached set (loaded through ``conn`` the first time)."""
        current = self._current
        return current if current is not None else self.reload(conn)

    def reload(self, conn: Connection) -> CategorySet:
        """Read the categories again (they changed, or an unknown code may be new)."""
        fresh = load_versioned(conn)
        with self._lock:
            current = self._current
            if current is not None and current.version > fresh.version:
                return current  # a concurrent reload read a later version
            self._current = fresh
            return fresh
