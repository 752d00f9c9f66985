"""API keys: created once (the secret is shown once), stored as a scrypt hash, revocable,
with the last-used time kept.

A key reads ``wg_<key id>_<secret>``. The key id (public, 10 characters) finds the row; the
secret (43 characters, 256 bits) is checked against its scrypt hash. scrypt is deliberately
slow (~30 ms), so a worker remembers a verified key in memory (by the key's SHA-256, never the
key) until the ``api_keys`` data version changes — a revocation reaches every worker within
one poll interval. Every worker also holds every unrevoked key's verifier (role, scope and
scrypt hash, reloaded whenever that version changes), so checking a key never needs the
database: with the database away each worker gives any key the same answer (issue 22 L).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from gis.errors import InvalidInput, NotFound, Unavailable
from gis.security.roles import ROLES, Principal
from gis.store.db import database_errors
from gis.store.models import API_KEYS, AREAS, DATA_VERSIONS

PREFIX = "wg_"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
#: How often last_used_at is written for a key in use (not on every request).
LAST_USED_EVERY = timedelta(minutes=1)
#: How long a browser sign-in lasts.
SESSION_TTL = timedelta(hours=12)
#: ``<key id>.<expiry, unix seconds>.<HMAC-SHA256, base64url>``: ASCII only, fixed lengths
_SESSION = re.compile(
    r"(?P<key_id>[A-Za-z0-9]{10})\.(?P<expires>[0-9]{1,12})\.(?P<mac>[A-Za-z0-9_-]{43})"
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    """``scrypt$n$r$p$salt$hash`` for ``secret`` (random 16-byte salt)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${_b64(salt)}${_b64(digest)}"


def check_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches a ``hash_secret`` string (constant-time compare)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    got = hashlib.scrypt(secret.encode(), salt=_unb64(salt), dklen=32, n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(got, _unb64(digest))


@dataclass(frozen=True)
class CreatedKey:
    """A new key: the full secret ``key`` exists only here."""

    key: str
    key_id: str
    role: str
    scope: str | None
    name: str


def create_key(
    conn: Connection, *, role: str, scope: str | None = None, name: str = ""
) -> CreatedKey:
    """Store a new key for ``role`` (scoped to area ``scope`` and its descendants, if given)."""
    if role not in ROLES:
        raise InvalidInput(
            f"unknown role {role!r}; expected one of {', '.join(ROLES)}", field="role"
        )
    if scope is not None:
        known = conn.execute(select(AREAS.c.code).where(AREAS.c.code == scope).limit(1)).first()
        if known is None:
            raise InvalidInput(f"no area with code {scope!r}", field="scope")
    key_id = _b64(secrets.token_bytes(8))[:10].replace("-", "x").replace("_", "y")
    secret = _b64(secrets.token_bytes(32))
    conn.execute(
        insert(API_KEYS).values(
            key_id=key_id, name=name, role=role, scope=scope, secret_hash=hash_secret(secret)
        )
    )
    return CreatedKey(f"{PREFIX}{key_id}_{secret}", key_id, role, scope, name)


def revoke_key(conn: Connection, key_id: str) -> None:
    """Revoke a key by its id (``wangge keys list`` shows ids); revoking twice is an error."""
    row = conn.execute(select(API_KEYS.c.revoked_at).where(API_KEYS.c.key_id == key_id)).first()
    if row is None:
        raise NotFound(f"no key with id {key_id!r}", field="key_id")
    if row.revoked_at is not None:
        raise InvalidInput(
            f"key {key_id!r} was already revoked at {row.revoked_at}", field="key_id"
        )
    conn.execute(
        update(API_KEYS).where(API_KEYS.c.key_id == key_id).values(revoked_at=datetime.now(UTC))
    )


def list_keys(conn: Connection) -> list[dict[str, Any]]:
    """Every key without its secret: id, name, role, scope, created, last used, revoked."""
    rows = conn.execute(
        select(
            API_KEYS.c.key_id,
            API_KEYS.c.name,
            API_KEYS.c.role,
            API_KEYS.c.scope,
            API_KEYS.c.created_at,
            API_KEYS.c.last_used_at,
            API_KEYS.c.revoked_at,
        ).order_by(API_KEYS.c.created_at, API_KEYS.c.key_id)
    )
    return [dict(r._mapping) for r in rows]


def split_key(token: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a well-formed key, else None."""
    if not token.startswith(PREFIX):
        return None
    key_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or len(key_id) != 10 or len(secret) < 20:
        return None
    return key_id, secret


@dataclass
class KeyVerifier:
    """Verifies keys for one process, remembering verified ones until keys change."""

    engine: Engine
    check_seconds: float = 2.0
    _verified: dict[str, Principal] = field(default_factory=dict)
    _rows: dict[str, tuple[Principal, str]] = field(default_factory=dict)
    _used_at: dict[str, float] = field(default_factory=dict)
    _version: int = -1
    _checked_at: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: every unrevoked key's verifier is in ``_rows`` for ``_version`` (no miss asks the database)
    _complete: bool = False

    def load(self) -> None:
        """Read the keys' version and every unrevoked key's verifier now (the lifespan calls
        this so a worker can check keys while the database is away); raises
        :class:`~gis.errors.Unavailable` when the database cannot be reached."""
        self._checked_at = float("-inf")
        self._refresh()

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.check_seconds:
            return
        try:
            with database_errors(), self.engine.connect() as conn:
                version = conn.execute(
                    select(DATA_VERSIONS.c.version).where(DATA_VERSIONS.c.name == "api_keys")
                ).scalar_one_or_none()
        except Unavailable:
            if self._version < 0:
                raise  # nothing verified yet: the caller cannot be checked
            # the database is away: every key this worker holds a verifier for keeps
            # working (assignment answers from memory)
            return
        if version != self._version or not self._complete:
            try:
                rows = self._all_rows()
            except Unavailable:
                if self._version < 0:
                    raise
                return
            with self._lock:
                self._verified.clear()
                self._rows = rows
                self._version = int(version or 0)
                self._complete = True
        self._checked_at = now

    def _all_rows(self) -> dict[str, tuple[Principal, str]]:
        """Every unrevoked key's principal and secret hash (a few hundred keys at most)."""
        with database_errors(), self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    API_KEYS.c.key_id,
                    API_KEYS.c.name,
                    API_KEYS.c.role,
                    API_KEYS.c.scope,
                    API_KEYS.c.secret_hash,
                ).where(API_KEYS.c.revoked_at.is_(None))
            ).all()
        return {
            r.key_id: (
                Principal(key_id=r.key_id, name=r.name, role=r.role, scope=r.scope),
                r.secret_hash,
            )
            for r in rows
        }

    def remembered(self, token: str) -> Principal | None:
        """The principal of a key this worker verified before (and keys have not changed
        since), without any hashing; None when it would have to be checked."""
        self._refresh()
        principal = self._verified.get(hashlib.sha256(token.encode()).hexdigest())
        if principal is not None:
            self._touch(principal.key_id or "")
        return principal

    def cached(self, token: str) -> Principal | None:
        """The principal of a key this worker verified, when that answer needs no database
        at all (keys were checked for changes within ``check_seconds`` and the key's
        last-used time is not due): cheap enough for an event loop. None means: ask
        :meth:`remembered` or :meth:`verify`, which may read or write the database."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_seconds:
            return None
        principal = self._verified.get(hashlib.sha256(token.encode()).hexdigest())
        if principal is None:
            return None
        used = self._used_at.get(principal.key_id or "", float("-inf"))
        if now - used >= LAST_USED_EVERY.total_seconds():
            return None
        return principal

    def verify(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked key; None for anything else."""
        parts = split_key(token)
        if parts is None:
            return None
        self._refresh()
        fingerprint = hashlib.sha256(token.encode()).hexdigest()
        principal = self._verified.get(fingerprint)
        if principal is None:
            version = self._version
            principal = self._check(*parts)
            if principal is None:
                return None
            with self._lock:
                if version == self._version:  # not if keys changed (a revocation) meanwhile
                    self._verified[fingerprint] = principal
        self._touch(principal.key_id or "")
        return principal

    def _row(self, key_id: str) -> tuple[Principal, str] | None:
        """The principal and secret hash of an unrevoked key (remembered until keys change)."""
        known = self._rows.get(key_id)
        if known is not None:
            return known
        if self._complete:
            # a key made since the last poll: look at the keys' version now (a wrong key
            # costs this read, as it always did; with the database away it is unknown)
            with contextlib.suppress(Unavailable):
                self.load()
            return self._rows.get(key_id)
        version = self._version
        with database_errors(), self.engine.connect() as conn:
            row = conn.execute(
                select(
                    API_KEYS.c.name, API_KEYS.c.role, API_KEYS.c.scope, API_KEYS.c.secret_hash
                ).where(API_KEYS.c.key_id == key_id, API_KEYS.c.revoked_at.is_(None))
            ).first()
        if row is None:
            return None
        principal = Principal(key_id=key_id, name=row.name, role=row.role, scope=row.scope)
        with self._lock:
            if version == self._version:
                self._rows[key_id] = (principal, row.secret_hash)
        return principal, row.secret_hash

    def _check(self, key_id: str, secret: str) -> Principal | None:
        found = self._row(key_id)
        if found is None or not check_secret(secret, found[1]):
            return None
        return found[0]

    def start_session(self, token: str, *, ttl: timedelta = SESSION_TTL) -> str | None:
        """A sign-in cookie value for a valid key: ``<key id>.<expiry>.<HMAC>``, keyed by the
        key's stored hash (server-side only), so it never holds the key, stops working when
        the key is revoked, and cannot be made or extended without that hash (whoever can
        read the ``api_keys`` table could; expiries beyond one session are refused anyway)."""
        principal = self.verify(token)
        if principal is None or principal.key_id is None:
            return None
        found = self._row(principal.key_id)
        if found is None:
            return None
        expires = int(time.time() + ttl.total_seconds())
        return f"{principal.key_id}.{expires}.{_session_mac(found[1], principal.key_id, expires)}"

    def verify_session(self, cookie: str) -> Principal | None:
        """The principal of a sign-in cookie made by :meth:`start_session`, if still valid
        (anything malformed, expired, or expiring later than a session can is refused)."""
        match = _SESSION.fullmatch(cookie)
        if match is None:
            return None
        key_id, expires = match["key_id"], int(match["expires"])
        mac = match["mac"]
        now = time.time()
        if not now <= expires <= now + SESSION_TTL.total_seconds() + 60:
            return None
        self._refresh()
        found = self._row(key_id)
        if found is None:
            return None
        if not hmac.compare_digest(mac.encode(), _session_mac(found[1], key_id, expires).encode()):
            return None
        self._touch(key_id)
        return found[0]

    def _touch(self, key_id: str) -> None:
        """Write last_used_at at most once a minute per key (best effort: a database away
        must not fail the request)."""
        now = time.monotonic()
        if now - self._used_at.get(key_id, float("-inf")) < LAST_USED_EVERY.total_seconds():
            return
        self._used_at[key_id] = now
        with contextlib.suppress(Unavailable), database_errors(), self.engine.begin() as conn:
            conn.execute(
                update(API_KEYS)
                .where(API_KEYS.c.key_id == key_id)
                .values(last_used_at=datetime.now(UTC))
            )


def _session_mac(secret_hash: str, key_id: str, expires: int) -> str:
    message = f"{key_id}.{expires}".encode()
    return _b64(hmac.new(secret_hash.encode(), message, hashlib.sha256).digest())


#: The name of the keys ``wangge demo keys`` makes (earlier ones are revoked on each run).
DEMO_KEY_NAME = "demo (make demo)"


def create_demo_keys(conn: Connection, field_worker_scope: str | None) -> list[CreatedKey]:
    """Fresh demo keys: an admin, and a field worker scoped to ``field_worker_scope`` (if
    given). Earlier demo keys are revoked, so only the last run's keys work."""
    conn.execute(
        update(API_KEYS)
        .where(API_KEYS.c.name.startswith(DEMO_KEY_NAME), API_KEYS.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    made = [create_key(conn, role="admin", name=f"{DEMO_KEY_NAME} admin")]
    if field_worker_scope is not None:
        made.append(
            create_key(
                conn,
                role="field_worker",
                scope=field_worker_scope,
                name=f"{DEMO_KEY_NAME} field worker",
            )
        )
    return made
