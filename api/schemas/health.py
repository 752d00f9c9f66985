"""``/healthz`` response."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    """The service and its database are up."""

    status: str
    database: str
    postgis: str
    generation: int | None
