"""Clauses every query shares, written once as SQLAlchemy Core expressions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, FromClause


def in_generation(table: FromClause, generation: int) -> ColumnElement[bool]:
    """Rows of a versioned table (its ``valid`` int4range) that are current in ``generation``."""
    valid: Any = table.c.valid
    return valid.contains(generation)  # type: ignore[no-any-return]
