"""Roles and what each may do; who is calling (the principal). What each may *see* is the
:class:`~gis.access.scope.Scope`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ROLES: Final[tuple[str, ...]] = ("official", "field_worker", "integration", "admin")

#: Permission families. An endpoint needs one; a role grants a set.
PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "official": frozenset(
        {"areas:read", "assign", "geocode", "incidents:read", "stats", "coverage", "maps"}
        | {"patrols"}  # patrols (issue 27): record and read (own; in scope)
        | {"events"}  # events (issue 26): pull, stream, subscribe (in scope)
    ),
    # coverage: the findings of her own scope, read-only (issue 24 item 7)
    "field_worker": frozenset(
        {
            "areas:read",
            "assign",
            "geocode",
            "incidents:read",
            "incidents:update",
            "maps",
            "coverage",
        }
        | {"patrols"}
    ),
    # incidents:read, but an integration key's Scope holds only the incidents it submitted
    "integration": frozenset({"assign", "geocode", "incidents:create", "incidents:read", "events"}),
    "admin": frozenset(
        {
            "areas:read",
            "assign",
            "geocode",
            "incidents:read",
            "incidents:create",
            "incidents:update",
            "stats",
            "coverage",
            "maps",
            "import",
            "keys",
            "audit",
            "unmasked",
            "patrols",
            "events",
        }
    ),
}

#: What an anonymous caller may do when the public setting allows it.
PUBLIC_PERMISSIONS: Final[frozenset[str]] = frozenset({"assign", "maps"})


@dataclass(frozen=True)
class Principal:
    """The caller: a key's id, name, role and scope (an area code; None for everywhere)."""

    key_id: str | None
    name: str
    role: str
    scope: str | None = None

    def can(self, permission: str) -> bool:
        """Whether the role grants ``permission``."""
        if self.role == "anonymous":
            return permission in PUBLIC_PERMISSIONS
        return permission in PERMISSIONS.get(self.role, frozenset())

    @property
    def sees_phones(self) -> bool:
        return self.can("unmasked")


ANONYMOUS = Principal(key_id=None, name="anonymous", role="anonymous")


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` → ``138****5678``; short numbers keep only their last two digits."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) >= 8:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 1) + digits[-2:]
