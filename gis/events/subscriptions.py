"""Webhook subscriptions: created (the secret shown once), listed, paused, resumed,
deleted, replayed. A subscription starts after the newest event at its creation and keeps
a cursor (the last event it has settled); delivery (:mod:`gis.events.delivery`) moves it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, true, update

from gis.access import EVERYWHERE, Scope
from gis.errors import InvalidInput, NotFound
from gis.events.outbox import TYPES
from gis.events.reading import last_id
from gis.events.webhook import check_url
from gis.incidents.categories import load_categories
from gis.store.models import AREAS, EVENT_SUBSCRIPTIONS

S = EVENT_SUBSCRIPTIONS.c
SHOWN = (
    S.id,
    S.url,
    S.types,
    S.area,
    S.categories,
    S.state,
    S.cursor,
    S.failures,
    S.next_attempt_at,
    S.last_error,
    S.last_delivered_at,
    S.delivered,
    S.created_at,
)


def _listed(value: Any, field: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidInput("must be a non-empty list of strings, or null", field=field)
    return list(dict.fromkeys(value))


def create(
    conn: Connection,
    *,
    url: str,
    types: Sequence[str] | None,
    area: str | None,
    categories: Sequence[str] | None,
    scope: Scope,
    key_id: str | None,
    allow_private: bool,
) -> dict[str, Any]:
    """A new subscription; ``{"id", "secret", ...}`` (the only time the secret is shown).
    ``area`` must be an area ``scope`` holds (else NotFound naming ``area``); deliveries
    carry only the events ``scope`` may see."""
    check_url(url, allow_private=allow_private)
    if area is not None:
        held = select(AREAS.c.code).where(AREAS.c.code == area, scope.areas(AREAS)).limit(1)
        if conn.execute(held).first() is None:
            raise NotFound(f"no area {area!r}", field="area")
    wanted = _listed(types, "events")
    for t in wanted or ():
        if t not in TYPES:
            raise InvalidInput(
                f"unknown event type {t!r}; types: {', '.join(TYPES)}", field="events"
            )
    cats = _listed(categories, "categories")
    if cats:
        known = load_categories(conn)
        for c in cats:
            if c not in known:
                raise InvalidInput(f"unknown category {c!r}", field="categories")
    ident = "sub_" + secrets.token_urlsafe(12)
    secret = "whsec_" + secrets.token_urlsafe(32)
    conn.execute(
        insert(EVENT_SUBSCRIPTIONS).values(
            id=ident,
            url=url,
            secret=secret,
            types=wanted,
            area=area,
            categories=cats,
            scope=scope.area,
            submitter=scope.submitter,
            key_id=key_id,
            cursor=last_id(conn),
        )
    )
    return {**get(conn, ident, scope=scope), "secret": secret}


def shown(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["events"] = out.pop("types")
    for k in ("next_attempt_at", "last_delivered_at", "created_at"):
        out[k] = out[k].isoformat() if out[k] is not None else None
    return out


def _mine(scope: Scope) -> Any:
    """A key manages the subscriptions made with its very scope (area and submitter); a key
    whose scope is everywhere manages all."""
    if scope.everywhere:
        return true()
    return and_(
        S.scope.is_not_distinct_from(scope.area), S.submitter.is_not_distinct_from(scope.submitter)
    )


def list_subscriptions(conn: Connection, *, scope: Scope) -> list[dict[str, Any]]:
    """Every subscription the caller may manage, oldest first (no secrets)."""
    rows = conn.execute(select(*SHOWN).where(_mine(scope)).order_by(S.created_at, S.id))
    return [shown(r) for r in rows]


def get(conn: Connection, ident: str, *, scope: Scope) -> dict[str, Any]:
    """One subscription (NotFound naming ``id`` when absent or not the caller's)."""
    row = conn.execute(select(*SHOWN).where(S.id == ident, _mine(scope))).one_or_none()
    if row is None:
        raise NotFound(f"no subscription {ident!r}", field="id")
    return shown(row)


def set_state(conn: Connection, ident: str, state: str, *, scope: Scope) -> dict[str, Any]:
    """Pause or resume (``active``: delivery is due at once, failures forgotten)."""
    if state not in ("active", "paused"):
        raise InvalidInput("must be active or paused", field="state")
    values: dict[str, Any] = {"state": state}
    if state == "active":
        values.update(failures=0, next_attempt_at=func.now())
    done = conn.execute(
        update(EVENT_SUBSCRIPTIONS).where(S.id == ident, _mine(scope)).values(**values)
    )
    if done.rowcount == 0:
        raise NotFound(f"no subscription {ident!r}", field="id")
    return get(conn, ident, scope=scope)


def remove(conn: Connection, ident: str, *, scope: Scope) -> None:
    """Delete the subscription (its undelivered events stay in the outbox for others)."""
    done = conn.execute(delete(EVENT_SUBSCRIPTIONS).where(S.id == ident, _mine(scope)))
    if done.rowcount == 0:
        raise NotFound(f"no subscription {ident!r}", field="id")


def replay(conn: Connection, ident: str, *, from_id: int) -> dict[str, Any]:
    """Deliver again from event ``from_id`` on (inclusive) and resume the subscription."""
    if from_id < 1:
        raise InvalidInput("must be an event id (1 or more)", field="from")
    done = conn.execute(
        update(EVENT_SUBSCRIPTIONS)
        .where(S.id == ident)
        .values(cursor=from_id - 1, state="active", failures=0, next_attempt_at=func.now())
    )
    if done.rowcount == 0:
        raise NotFound(f"no subscription {ident!r}", field="subscription")
    return get(conn, ident, scope=EVERYWHERE)
