"""Acting on an incident as a person: who the actor is, what her role may do, and doing a
step once even when an offline phone sends it again.

- The actor of a step is the holder of the key that makes it (the key's name). Only a key
  allowed to act for others (an admin key, or one created with ``acts_for_others``: a
  hotline desk recording what a named person did) may name someone else; the key is stored
  beside the actor either way.
- A step may carry a client-made id: the first answer is stored with it, and the same id
  again answers that stored answer without doing anything (the phone's queue resends safely).
- A step may carry the state the person saw (``expect_status``): if the incident has moved
  since, the step is refused as a conflict naming the state it is in now, so the phone can
  show her what changed instead of losing her work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import Connection, insert, select, text, update

from gis.access import Scope
from gis.access.roles import Principal
from gis.errors import Conflict, InvalidInput
from gis.incidents.lifecycle import TRANSITIONS, locked
from gis.store.models import API_KEYS, CLIENT_ACTIONS, INCIDENT_STATES

#: role -> the target states its people may move an incident to (the dispatch centre, i.e.
#: admins, does the rest: 结案 closing, 挂账 parking, 重新处置 reopening)
ROLE_STEPS: Final[dict[str, frozenset[str]]] = {
    "field_worker": frozenset({"assigned", "in_progress", "resolved", "returned", "extended"}),
    "admin": frozenset(INCIDENT_STATES),
}
#: the steps a page offers, in the order of their buttons
STEP_ORDER: Final[tuple[str, ...]] = (
    "assigned",
    "in_progress",
    "resolved",
    "extended",
    "returned",
    "suspended",
    "reopened",
    "closed",
)


def steps_for(principal: Principal, status: str) -> list[str]:
    """The steps ``principal`` may take on an incident in ``status``, in button order."""
    mine = ROLE_STEPS.get(principal.role, frozenset())
    possible = set(TRANSITIONS.get(status, ()))
    return [s for s in STEP_ORDER if s in possible and s in mine]


def may_step(principal: Principal, to: str) -> bool:
    """Whether the role may move an incident to ``to`` at all."""
    return to in ROLE_STEPS.get(principal.role, frozenset())


def acts_for_others(conn: Connection, principal: Principal) -> bool:
    """Whether the key may name another person as the actor."""
    if principal.role == "admin":
        return True
    if principal.key_id is None:
        return False
    flag = conn.execute(
        select(API_KEYS.c.acts_for_others).where(API_KEYS.c.key_id == principal.key_id)
    ).scalar_one_or_none()
    return bool(flag)


def allow_acting_for_others(conn: Connection, key_id: str) -> None:
    """Let the key ``key_id`` name another person as the actor."""
    conn.execute(update(API_KEYS).where(API_KEYS.c.key_id == key_id).values(acts_for_others=True))


def actor_of(conn: Connection, principal: Principal, actor: str | None) -> str:
    """Who the timeline names: the key's holder, or ``actor`` from a key that may act for
    others (InvalidInput on ``actor`` from any other key; callers look the incident up in
    the caller's scope first, so out of scope stays indistinguishable from absent)."""
    own = principal.name or principal.key_id or "unknown"
    if actor is None or actor.strip() in ("", own):
        return own
    if not acts_for_others(conn, principal):
        raise InvalidInput(
            "this key acts as its holder only; leave actor out (it may not name someone else)",
            field="actor",
        )
    return actor


def key_of(principal: Principal) -> tuple[str | None, str | None]:
    return principal.key_id, principal.name


def expect(conn: Connection, incident_id: int, seen: str | None, scope: Scope) -> None:
    """Conflict if the incident is no longer in the state the person saw (row locked; not
    found outside ``scope``)."""
    if seen is None:
        return
    row = locked(conn, incident_id, scope)
    if row.status != seen:
        raise Conflict(
            f"incident {incident_id} changed meanwhile: it is {row.status} now, not {seen}",
            field="expect_status",
            current=row.status,
            allowed=list(TRANSITIONS[row.status]),
        )


def once(
    conn: Connection,
    principal: Principal,
    client_id: str | None,
    incident_id: int,
    action: str,
    do: Callable[[], dict[str, Any]],
) -> tuple[dict[str, Any], bool]:
    """``do()``'s answer, stored under ``client_id``; ``(answer, True)`` when it was done now,
    ``(stored answer, False)`` when the id was seen before (nothing done again). The id is
    locked for the transaction, so two resends racing each other do it once."""
    if client_id is None:
        return do(), True
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:c))"), {"c": client_id})
    row = conn.execute(
        select(CLIENT_ACTIONS).where(CLIENT_ACTIONS.c.client_id == client_id)
    ).one_or_none()
    if row is not None:
        if row.key_id != principal.key_id or row.incident_id != incident_id:
            raise Conflict("this client_id was used for another action", field="client_id")
        return dict(row.answer), False
    answer = do()
    conn.execute(
        insert(CLIENT_ACTIONS).values(
            client_id=client_id,
            key_id=principal.key_id or "",
            incident_id=incident_id,
            action=action,
            answer=_jsonable(answer),
        )
    )
    return answer, True


def _jsonable(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in answer.items()}
