"""Browser sessions, stored in PostgreSQL so they hold across API workers and hosts.

Signing in makes a random token (256 bits) for the cookie and a second one, the anti-CSRF
token, that the page sends back in a header with every write. The database keeps only the
SHA-256 of the cookie's token, so reading the table signs nobody in. A session ends at its
expiry, at sign-out (the row is marked ended at once: a copied cookie stops working on every
host), or when its key is revoked (the key is checked with every lookup).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from gis.access.roles import Principal
from gis.store.models import API_KEYS, SESSIONS

#: how long a browser sign-in lasts
SESSION_TTL = timedelta(hours=12)
#: a cookie token or CSRF token: 43 base64url characters (32 random bytes)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class Session:
    """A live session: who it signs in, and the token its writes must carry."""

    principal: Principal
    csrf_token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """Whether ``token`` looks like one this module makes (checked before any query)."""
    return _TOKEN.fullmatch(token) is not None


def start_session(
    conn: Connection, key_id: str, *, client: str = "", ttl: timedelta = SESSION_TTL
) -> tuple[str, str]:
    """A new session for the key ``key_id``: ``(cookie token, anti-CSRF token)``. Sessions
    that ended more than a day ago are swept on the way."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute(delete(SESSIONS).where(SESSIONS.c.expires_at < now - timedelta(days=1)))
    conn.execute(
        insert(SESSIONS).values(
            token_hash=_digest(token),
            key_id=key_id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + ttl,
            client=client[:200],
        )
    )
    return token, csrf


def find_session(conn: Connection, token: str) -> Session | None:
    """The live session of a cookie token with its key's principal; None when the token is
    unknown, expired, signed out, or its key is revoked."""
    if not well_formed(token):
        return None
    row = conn.execute(
        select(
            SESSIONS.c.csrf_token,
            SESSIONS.c.expires_at,
            API_KEYS.c.key_id,
            API_KEYS.c.name,
            API_KEYS.c.role,
            API_KEYS.c.scope,
        )
        .join(API_KEYS, API_KEYS.c.key_id == SESSIONS.c.key_id)
        .where(
            SESSIONS.c.token_hash == _digest(token),
            SESSIONS.c.ended_at.is_(None),
            SESSIONS.c.expires_at > datetime.now(UTC),
            API_KEYS.c.revoked_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    principal = Principal(key_id=row.key_id, name=row.name, role=row.role, scope=row.scope)
    return Session(principal, row.csrf_token, row.expires_at)


def end_session(conn: Connection, token: str) -> bool:
    """End the session of ``token`` now (sign-out); False if there was none live."""
    if not well_formed(token):
        return False
    ended = conn.execute(
        update(SESSIONS)
        .where(SESSIONS.c.token_hash == _digest(token), SESSIONS.c.ended_at.is_(None))
        .values(ended_at=datetime.now(UTC))
    )
    return bool(ended.rowcount)


def csrf_matches(session: Session, sent: str | None) -> bool:
    """Whether ``sent`` is the session's anti-CSRF token (constant-time)."""
    return bool(sent) and hmac.compare_digest((sent or "").encode(), session.csrf_token.encode())
