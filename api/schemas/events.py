"""Events (issue 26): the event, the pull list and webhook subscriptions."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gis.events.outbox import TYPES

EventType = Literal[
    "incident.created",
    "incident.assigned",
    "incident.transition",
    "incident.relocated",
    "incident.duplicate_linked",
    "incident.overdue",
    "incident.photo_added",
    "generation.activated",
    "coverage.report",
]
assert EventType.__args__ == TYPES  # type: ignore[attr-defined]


class Event(BaseModel):
    """One change. ``data.id`` is the changed object's id (an incident's, a generation's
    number, a coverage report's area); an incident's ``data`` also carries its summary and
    ``change`` (what this event changed)."""

    id: int = Field(description="Monotonic; events are listed and delivered in this order")
    type: EventType
    at: str = Field(description="When the change was committed (RFC 3339, UTC)")
    data: dict[str, Any]


class EventList(BaseModel):
    events: list[Event]
    last_id: int = Field(description="Pass as `after` for the next page (or this value again)")


class SubscriptionIn(BaseModel):
    """What to deliver where: ``events`` types (null: all), only events at or below
    ``area`` (null: the caller's scope), only ``categories`` (null: all)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, examples=["https://hotline.example.org/wangge-hook"])
    events: list[EventType] | None = Field(default=None, min_length=1)
    area: str | None = Field(default=None, max_length=100)
    categories: list[str] | None = Field(default=None, min_length=1, max_length=100)


class Subscription(BaseModel):
    id: str
    url: str
    events: list[str] | None
    area: str | None
    categories: list[str] | None
    state: Literal["active", "paused"]
    cursor: int = Field(description="The last event settled; delivery goes on after it")
    failures: int = Field(description="Consecutive failed deliveries")
    next_attempt_at: str | None
    last_error: str | None
    last_delivered_at: str | None
    delivered: int
    created_at: str | None


class SubscriptionCreated(Subscription):
    secret: str = Field(description="The signing secret: shown this once, keep it")


class SubscriptionList(BaseModel):
    subscriptions: list[Subscription]


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["active", "paused"]
