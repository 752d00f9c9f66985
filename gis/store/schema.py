"""Questions about the live schema, for features that use tables other branches may add."""

from __future__ import annotations

from sqlalchemy import Connection, text


def table_exists(conn: Connection, name: str) -> bool:
    """Whether a table called ``name`` exists in the search path."""
    found = conn.execute(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name})
    return bool(found.scalar_one())


def data_version(conn: Connection, *names: str) -> str:
    """A token that changes when any of the tables ``names`` changes (from ``data_versions``)."""
    rows = conn.execute(
        text("SELECT name, version FROM data_versions WHERE name = ANY(:names) ORDER BY name"),
        {"names": list(names)},
    ).all()
    return ".".join(f"{r.name}:{r.version}" for r in rows)
