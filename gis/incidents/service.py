"""Entry points the API and the CLI call: each runs in one transaction of its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from gis.errors import InvalidInput
from gis.incidents.intake import IntakeContext, intake
from gis.incidents.query import get_incident
from gis.incidents.single import take_one
from gis.security.audit import Entry


def submit(
    engine: Engine,
    ctx: IntakeContext,
    body: dict[str, Any],
    *,
    within: str | None = None,
    audit: Entry | None = None,
) -> tuple[dict[str, Any], bool]:
    """Take one incident in; (the stored incident as a Feature, True if newly created).

    A bad body (or, with ``within``, a place outside that area) raises InvalidInput naming the
    field; the same external_id again answers the stored incident with False. ``audit`` is
    written about a newly created incident in the same transaction (one commit, not two).

    Most requests are answered by one SQL statement (:func:`gis.incidents.single.take_one`);
    the rare ones it leaves (racing retries, scope refusals) by the batch intake."""
    answer = take_one(engine, ctx, body, within=within, audit=audit)
    if answer is not None:
        return answer
    with engine.begin() as conn:
        [taken] = intake(conn, ctx, [body], within=within)
        if taken.error is not None:
            raise InvalidInput(taken.error["reason"], field=taken.error["field"])
        assert taken.id is not None
        if audit is not None and taken.created:
            audit.write(conn, f"incident/{taken.id}")
        return get_incident(conn, taken.id), taken.created


def submit_batch(
    engine: Engine,
    ctx: IntakeContext,
    bodies: Sequence[Any],
    *,
    within: str | None = None,
    audit: Entry | None = None,
) -> dict[str, Any]:
    """Take many incidents in, in one transaction; per-item results in input order (with
    ``within``, those placed outside that area get an error); ``audit`` is written in the
    same transaction when any incident was created, naming their ids."""
    if not isinstance(bodies, list) or not bodies:
        raise InvalidInput("must be a non-empty list of incidents", field="incidents")
    with engine.begin() as conn:
        taken = intake(conn, ctx, bodies, within=within)
        ids = [t.id for t in taken if t.created]
        if audit is not None and ids:
            audit.write(conn, f"{len(ids)} incidents", ids=ids)
    results = [t.as_dict() for t in taken]
    created = sum(t.created for t in taken)
    errors = sum(t.error is not None for t in taken)
    return {
        "count": len(taken),
        "created": created,
        "existing": len(taken) - created - errors,
        "errors": errors,
        "results": results,
    }
