"""Boundary generations: numbered versions of the whole area set.

Exactly one generation is ``current`` (what readers see by default); imports write into the
``open`` generation (created by the first import after an activation) and
:func:`activate` makes it current in one transaction, so readers see the old set or the new
one, never half of each. Rows are never rewritten: a redrawn area closes its old row's
validity range and adds a new row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, text, update

from gis.errors import Conflict, NotFound
from gis.events.outbox import generation_activated
from gis.store.models import GENERATIONS


@dataclass(frozen=True)
class GenerationInfo:
    """A generation as reported to users."""

    id: int
    state: str
    description: str
    created_at: datetime
    activated_at: datetime | None


def _info(row: Any) -> GenerationInfo:
    return GenerationInfo(row.id, row.state, row.description, row.created_at, row.activated_at)


def list_generations(conn: Connection) -> list[GenerationInfo]:
    """All generations, newest first."""
    rows = conn.execute(select(GENERATIONS).order_by(GENERATIONS.c.id.desc()))
    return [_info(r) for r in rows]


def current_generation(conn: Connection) -> int | None:
    """The current generation's number (None before the first activation)."""
    return conn.execute(
        select(GENERATIONS.c.id).where(GENERATIONS.c.state == "current")
    ).scalar_one_or_none()


def open_generation(conn: Connection) -> int | None:
    """The open generation's number, if an import has started one."""
    return conn.execute(
        select(GENERATIONS.c.id).where(GENERATIONS.c.state == "open")
    ).scalar_one_or_none()


def next_generation_number(conn: Connection) -> int:
    """The number the next new generation gets."""
    return int(conn.execute(select(func.coalesce(func.max(GENERATIONS.c.id), 0))).scalar_one()) + 1


def lock_for_import(conn: Connection, description: str) -> int:
    """Open (or reuse) the open generation and lock generations against concurrent change."""
    conn.execute(text("LOCK TABLE generations IN SHARE ROW EXCLUSIVE MODE"))
    existing = open_generation(conn)
    if existing is not None:
        if description:
            conn.execute(
                update(GENERATIONS)
                .where(GENERATIONS.c.id == existing)
                .values(description=description)
            )
        return existing
    number = next_generation_number(conn)
    conn.execute(insert(GENERATIONS).values(id=number, state="open", description=description))
    return number


def activate(conn: Connection) -> int:
    """Make the open generation current (the old current one is retired); return its number.

    Raises Conflict when there is no open generation.
    """
    conn.execute(text("LOCK TABLE generations IN SHARE ROW EXCLUSIVE MODE"))
    number = open_generation(conn)
    if number is None:
        raise Conflict(
            "no open generation to activate; import boundaries first", field="generation"
        )
    conn.execute(
        update(GENERATIONS).where(GENERATIONS.c.state == "current").values(state="retired")
    )
    conn.execute(
        update(GENERATIONS)
        .where(GENERATIONS.c.id == number)
        .values(state="current", activated_at=func.now())
    )
    conn.execute(text("SELECT pg_notify('wangge_generation', :n)"), {"n": str(number)})
    generation_activated(conn, number)  # issue 26: its event, in this transaction
    return number


def resolve_generation(
    conn: Connection, *, generation: int | None = None, as_of: datetime | None = None
) -> int:
    """The generation a read should use: explicit number, the one current at ``as_of``, or
    the current one. Raises NotFound when there is none."""
    if generation is not None:
        exists = conn.execute(select(GENERATIONS.c.id).where(GENERATIONS.c.id == generation))
        if exists.scalar_one_or_none() is None:
            raise NotFound(f"generation {generation} does not exist", field="generation")
        return generation
    if as_of is not None:
        found = conn.execute(
            select(GENERATIONS.c.id)
            .where(GENERATIONS.c.activated_at.is_not(None), GENERATIONS.c.activated_at <= as_of)
            .order_by(GENERATIONS.c.activated_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        if found is None:
            raise NotFound(f"no generation was current at {as_of.isoformat()}", field="as_of")
        return int(found)
    current = current_generation(conn)
    if current is None:
        raise NotFound(
            "no boundary generation is active yet; import boundaries with "
            "--activate (or run `wangge generations activate`)",
            field="generation",
        )
    return current
