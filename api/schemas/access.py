"""Access: who am I (``/v1/me``) and the audit log (``/v1/audit``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.schemas import Link


class Me(BaseModel):
    """The key a request was made with."""

    key_id: str | None = Field(description="Null for an anonymous caller.")
    name: str
    role: str = Field(description="official, field_worker, integration, admin or anonymous")
    scope: str | None = Field(description="Area code the key is limited to; null: everywhere.")
    permissions: list[str]


class AuditEntry(BaseModel):
    """One write or unmasked read: who, what, when, from where."""

    id: int
    at: datetime
    key_id: str | None
    key_name: str | None
    role: str | None
    action: str = Field(examples=["incident.transition"])
    target: str = Field(examples=["incident/42"])
    client: str = Field(description="The caller's address.")
    detail: dict[str, Any]


class AuditPage(BaseModel):
    """Audit entries, newest first."""

    numberMatched: int
    numberReturned: int
    links: list[Link]
    entries: list[AuditEntry]
