"""Versions of the data in the live schema (for caches that must notice a change)."""

from __future__ import annotations

from sqlalchemy import Connection, text


def data_version(conn: Connection, *names: str) -> str:
    """A token that changes when any of the tables ``names`` changes (from ``data_versions``)."""
    rows = conn.execute(
        text("SELECT name, version FROM data_versions WHERE name = ANY(:names) ORDER BY name"),
        {"names": list(names)},
    ).all()
    return ".".join(f"{r.name}:{r.version}" for r in rows)
