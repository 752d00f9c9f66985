"""``/v1/events`` (pull, or Server-Sent Events) and ``/v1/subscriptions`` (webhooks).
Thin: parse, authorize, call ``gis.events``, shape the answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine

from api.deps import Conn, get_engine, get_settings
from api.problems import problem_responses
from api.routers.assign import FastJSONResponse
from api.schemas.events import (
    EventList,
    Subscription,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionPatch,
)
from api.scope import CallerScope
from api.security import record_in, require
from gis.access.roles import Principal
from gis.events import subscriptions
from gis.events.reading import DEFAULT_LIMIT, MAX_LIMIT, EventFilter, read_events, shown
from gis.settings import Settings

router = APIRouter(tags=["events"])
EngineDep = Annotated[Engine, Depends(get_engine)]
Reader = Annotated[Principal, require("events")]
SSE = "text/event-stream"
#: a stream ends after this long; EventSource reconnects with Last-Event-ID
STREAM_SECONDS = 300.0
STREAM_POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
SubscriptionId = Annotated[str, Path(max_length=64, description="Subscription id")]


@router.get(
    "/v1/events",
    response_model=EventList,
    response_class=FastJSONResponse,
    summary="Events after an id, in order (JSON, or a Server-Sent Events stream)",
    responses={
        200: {
            "description": "The events (or, with `Accept: text/event-stream`, a stream)",
            "content": {SSE: {"schema": {"type": "string"}}},
        },
        **problem_responses(404, 422, 503),
    },
)
def list_events(
    request: Request,
    caller: Reader,
    scope: CallerScope,
    conn: Conn,
    engine: EngineDep,
    after: Annotated[
        int | None, Query(ge=0, le=2**63 - 1, description="Only events with a larger id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Most events")] = DEFAULT_LIMIT,
    types: Annotated[
        str | None,
        Query(description="Comma list of event types", examples=["incident.created"]),
    ] = None,
    area: Annotated[
        str | None, Query(max_length=100, description="Only events at or below this area")
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(description="Server-Sent Events: resume after this id (EventSource sends it)"),
    ] = None,
) -> Any:
    """Read in order with `after` (the `last_id` of the previous answer); events are never
    listed out of order, so polling with `after` misses nothing. With `Accept:
    text/event-stream` the answer is a stream of `id:`/`event:`/`data:` messages that goes on
    as events are written (resume with `Last-Event-ID`)."""
    if last_event_id is not None and after is None and last_event_id.strip().isdigit():
        after = int(last_event_id.strip())
    where = EventFilter.parse(after=after, types=types, area=area, scope=scope)
    if SSE in request.headers.get("accept", ""):
        return StreamingResponse(
            _stream(engine, where), media_type=SSE, headers={"Cache-Control": "no-cache"}
        )
    rows = read_events(conn, where, limit=limit)
    events = [shown(r) for r in rows]
    return {"events": events, "last_id": events[-1]["id"] if events else where.after}


def _stream(engine: Engine, where: EventFilter) -> Iterator[bytes]:
    """Server-Sent Events from ``where.after`` on, for up to STREAM_SECONDS."""
    yield b"retry: 1000\n\n"
    after, quiet_since = where.after, time.monotonic()
    deadline = time.monotonic() + STREAM_SECONDS
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = read_events(
                conn,
                EventFilter(after, where.types, where.area, where.categories, where.scope),
                limit=MAX_LIMIT,
            )
        for row in rows:
            event = shown(row)
            after = event["id"]
            yield (
                f"id: {event['id']}\nevent: {event['type']}\ndata: ".encode()
                + orjson.dumps(event)
                + b"\n\n"
            )
        if rows:
            quiet_since = time.monotonic()
            continue
        if time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield b": keepalive\n\n"
        time.sleep(STREAM_POLL_SECONDS)


@router.post(
    "/v1/subscriptions",
    status_code=201,
    response_model=SubscriptionCreated,
    summary="Subscribe a URL to events (webhook); the secret is shown once",
    responses=problem_responses(404, 422, 503),
)
def create_subscription(
    request: Request,
    body: SubscriptionIn,
    caller: Reader,
    scope: CallerScope,
    engine: EngineDep,
    settings: Annotated[Settings, Depends(get_settings)],
) -> Any:
    """Each event is POSTed to `url` as JSON (the shape of `GET /v1/events` items) with
    `Wangge-Event-Id` and `Wangge-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`;
    at least once, in order; see docs/events.md."""
    with engine.begin() as conn:
        created = subscriptions.create(
            conn,
            url=body.url,
            types=body.events,
            area=body.area,
            categories=body.categories,
            scope=scope,
            key_id=caller.key_id,
            allow_private=settings.webhook_allow_private,
        )
        record_in(conn, request, caller, "subscription.create", f"subscription/{created['id']}")
    return created


@router.get(
    "/v1/subscriptions",
    response_model=SubscriptionList,
    summary="The subscriptions this key may manage",
    responses=problem_responses(503),
)
def list_subscriptions(caller: Reader, scope: CallerScope, conn: Conn) -> Any:
    return {"subscriptions": subscriptions.list_subscriptions(conn, scope=scope)}


@router.get(
    "/v1/subscriptions/{subscription_id}",
    response_model=Subscription,
    summary="One subscription: state, cursor, failures",
    responses=problem_responses(404, 503),
)
def get_subscription(
    caller: Reader, scope: CallerScope, conn: Conn, subscription_id: SubscriptionId
) -> Any:
    return subscriptions.get(conn, subscription_id, scope=scope)


@router.patch(
    "/v1/subscriptions/{subscription_id}",
    response_model=Subscription,
    summary="Pause or resume a subscription (resuming delivers what it missed)",
    responses=problem_responses(404, 422, 503),
)
def patch_subscription(
    request: Request,
    caller: Reader,
    scope: CallerScope,
    engine: EngineDep,
    subscription_id: SubscriptionId,
    body: SubscriptionPatch,
) -> Any:
    with engine.begin() as conn:
        out = subscriptions.set_state(conn, subscription_id, body.state, scope=scope)
        record_in(conn, request, caller, f"subscription.{body.state}", subscription_id)
    deliverer = getattr(request.app.state, "deliverer", None)
    if deliverer is not None:
        deliverer.wake()
    return out


@router.delete(
    "/v1/subscriptions/{subscription_id}",
    status_code=204,
    summary="Delete a subscription",
    responses=problem_responses(404, 503),
)
def delete_subscription(
    request: Request,
    caller: Reader,
    scope: CallerScope,
    engine: EngineDep,
    subscription_id: SubscriptionId,
) -> Response:
    with engine.begin() as conn:
        subscriptions.remove(conn, subscription_id, scope=scope)
        record_in(conn, request, caller, "subscription.delete", subscription_id)
    return Response(status_code=204)
