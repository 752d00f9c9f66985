"""Domain exceptions: raised anywhere in ``gis``, mapped once to HTTP problems in ``api``.

Each carries the name of the offending ``field`` (a request parameter, a file column, a
feature index) and a human ``reason``. The CLI prints them; the API turns them into
``application/problem+json`` responses.
"""

from __future__ import annotations

from typing import Any


class WanggeError(Exception):
    """Base class for every error wangge reports to a user."""

    status = 400
    title = "Bad request"

    def __init__(self, reason: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.extra = extra

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


class InvalidInput(WanggeError):
    """The caller sent something wangge cannot accept (bad value, bad file, bad feature)."""

    status = 422
    title = "Invalid input"


class NotFound(WanggeError):
    """A named thing (area code, generation, file) does not exist."""

    status = 404
    title = "Not found"


class Conflict(WanggeError):
    """The request is well-formed but clashes with the current state (e.g. nothing to activate)."""

    status = 409
    title = "Conflict"


class PayloadTooLarge(WanggeError):
    """A request body or batch exceeds a configured limit."""

    status = 413
    title = "Payload too large"


class Unavailable(WanggeError):
    """A required service (the database) cannot be reached."""

    status = 503
    title = "Service unavailable"
