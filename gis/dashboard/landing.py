"""Where a person lands after signing in: one rule, a function of the role alone (the
sign-in flow and ``/home`` both ask it)."""

from __future__ import annotations

#: role -> the first page; officials and admins watch the figures, field workers work
LANDING: dict[str, str] = {
    "official": "/dashboard",
    "admin": "/dashboard",
    "field_worker": "/maps/work",
}


def landing_path(role: str) -> str:
    """The path a person of ``role`` lands on after signing in (``/maps/`` for any other)."""
    return LANDING.get(role, "/maps/")
