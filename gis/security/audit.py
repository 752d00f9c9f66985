"""The audit log: every write and every unmasked read, with who, what, when and from where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from gis.security.roles import Principal
from gis.store.db import database_errors
from gis.store.models import AUDIT_LOG

MAX_AUDIT_PAGE = 1000


def record(
    engine: Engine,
    principal: Principal,
    *,
    action: str,
    target: str = "",
    client: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit entry in its own transaction (so a read is logged too)."""
    with database_errors(), engine.begin() as conn:
        record_in(conn, principal, action=action, target=target, client=client, detail=detail)


def record_in(
    conn: Connection,
    principal: Principal,
    *,
    action: str,
    target: str = "",
    client: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit entry inside the caller's transaction (kept only if it commits)."""
    conn.execute(
        insert(AUDIT_LOG).values(
            key_id=principal.key_id,
            key_name=principal.name,
            role=principal.role,
            action=action,
            target=target,
            client=client,
            detail=detail or {},
        )
    )


@dataclass(frozen=True)
class Entry:
    """An audit entry the caller decided on, written by the function doing the change inside
    its own transaction (one commit for both; the entry exists exactly when the change does)."""

    principal: Principal
    action: str
    client: str = ""

    def write(self, conn: Connection, target: str, **detail: Any) -> None:
        """Write this entry about ``target`` in ``conn``'s transaction (None details left out)."""
        record_in(
            conn,
            self.principal,
            action=self.action,
            target=target,
            client=self.client,
            detail={k: v for k, v in detail.items() if v is not None} or None,
        )


def command_line_user() -> tuple[Principal, str]:
    """Who runs a ``wangge`` command (the operating-system user) and from which host."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Principal(key_id=None, name=user, role="command_line"), f"cli@{socket.gethostname()}"


def read_audit(
    conn: Connection,
    *,
    since: datetime | None = None,
    action: str | None = None,
    key_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Audit entries, newest first, with the total matched."""
    conditions = []
    if since is not None:
        conditions.append(AUDIT_LOG.c.at >= since)
    if action is not None:
        conditions.append(AUDIT_LOG.c.action == action)
    if key_id is not None:
        conditions.append(AUDIT_LOG.c.key_id == key_id)
    total = conn.execute(
        select(func.count()).select_from(AUDIT_LOG).where(*conditions)
    ).scalar_one()
    rows = conn.execute(
        select(AUDIT_LOG)
        .where(*conditions)
        .order_by(AUDIT_LOG.c.at.desc(), AUDIT_LOG.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [dict(r._mapping) for r in rows], int(total)
