"""Entry points the API and the CLI call: each runs in one transaction of its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from gis.access import EVERYWHERE, Scope
from gis.errors import InvalidInput
from gis.incidents.intake import IntakeContext, intake
from gis.incidents.query import stored
from gis.incidents.single import take_one
from gis.security.audit import Entry


def submit(
    engine: Engine,
    ctx: IntakeContext,
    body: dict[str, Any],
    *,
    scope: Scope = EVERYWHERE,
    audit: Entry | None = None,
) -> tuple[dict[str, Any], bool]:
    """Take one incident in; (the stored incident as a Feature, True if newly created).

    A bad body (or a place outside the caller's ``scope``) raises InvalidInput naming the
    field; the same external_id again answers the stored incident with False — only its id
    (:func:`already_stored`) when it lies outside ``scope``. ``audit`` is written about a
    newly created incident in the same transaction (one commit, not two); the incident
    remembers the key that submitted it (``audit``'s).

    Most requests are answered by one SQL statement (:func:`gis.incidents.single.take_one`);
    the rare ones it leaves (racing retries, scope refusals) by the batch intake."""
    answer = take_one(engine, ctx, body, scope=scope, audit=audit)
    if answer is not None:
        return answer
    with engine.begin() as conn:
        [taken] = intake(conn, ctx, [body], scope=scope, submitted_by=submitter(audit))
        if taken.error is not None:
            raise InvalidInput(taken.error["reason"], field=taken.error["field"])
        assert taken.id is not None
        if audit is not None and taken.created:
            audit.write(conn, f"incident/{taken.id}")
        return stored(conn, taken.id, scope), taken.created


def submitter(audit: Entry | None) -> str | None:
    """The key id an incident taken in under ``audit`` remembers as its submitter."""
    return audit.principal.key_id if audit is not None else None


def submit_batch(
    engine: Engine,
    ctx: IntakeContext,
    bodies: Sequence[Any],
    *,
    scope: Scope = EVERYWHERE,
    audit: Entry | None = None,
) -> dict[str, Any]:
    """Take many incidents in, in one transaction; per-item results in input order (those
    placed outside the caller's ``scope`` get an error); ``audit`` is written in the
    same transaction when any incident was created, naming their ids."""
    if not isinstance(bodies, list) or not bodies:
        raise InvalidInput("must be a non-empty list of incidents", field="incidents")
    with engine.begin() as conn:
        taken = intake(conn, ctx, bodies, scope=scope, submitted_by=submitter(audit))
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
