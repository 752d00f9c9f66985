"""Domain exceptions: raised anywhere in ``gis``; they say what went wrong, not how to answer.

Each carries the name of the offending ``field`` (a request parameter, a file column, a
feature index) and a human ``reason``. The CLI prints them and picks its exit code; ``api``
alone decides the HTTP status (``api/problems.py``).
"""

from __future__ import annotations

from typing import Any


class WanggeError(Exception):
    """Base class for every error wangge reports to a user."""

    def __init__(self, reason: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.extra = extra

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


class InvalidInput(WanggeError):
    """The caller sent something wangge cannot accept (bad value, bad file, bad feature)."""


class NotFound(WanggeError):
    """A named thing (area code, generation, file) does not exist."""


class Conflict(WanggeError):
    """The request is well-formed but clashes with the current state (e.g. nothing to activate)."""


class PayloadTooLarge(WanggeError):
    """A request body or batch exceeds a configured limit."""


class Unavailable(WanggeError):
    """A required service (the database) cannot be reached."""
