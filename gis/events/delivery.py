"""Webhook delivery: at least once, in event order per subscription, by exactly one
deliverer at a time across workers and hosts.

A deliverer takes a due subscription with ``SELECT … FOR UPDATE SKIP LOCKED`` (another
worker skips it), finds the next event after its cursor that the subscription wants and may
see, POSTs it (``Wangge-Event-Id``, ``Wangge-Signature``) while still holding the row lock,
and moves the cursor in the same transaction. A 2xx answer settles the event; anything else
(an error status, a refused connection, a timeout) schedules a retry after an exponential
backoff with jitter, and ``max_failures`` consecutive failures pause the subscription, its
cursor kept so nothing is lost (resume or ``wangge events replay``). A deliverer that dies
after the POST but before its commit leaves the cursor where it was, so the event is sent
again: at least once, never skipped. A timeout may also mean the receiver got it: receivers
deduplicate by ``Wangge-Event-Id``.

:class:`Deliverer` runs the loop in threads of one process (an API worker, or ``wangge
events run``): a LISTEN on the outbox channel wakes them when events are written; they also
poll, and run the overdue sweep.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
import psycopg
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import DBAPIError

from gis.access import Scope
from gis.events.outbox import CHANNEL, sweep_overdue
from gis.events.reading import EventFilter, as_seen, shown
from gis.events.webhook import Refused, post, sign
from gis.store.models import EVENT_SUBSCRIPTIONS, EVENTS

log = logging.getLogger("wangge.events")
S = EVENT_SUBSCRIPTIONS.c
E = EVENTS.c


@dataclass(frozen=True)
class DeliveryConfig:
    """How deliveries are made and retried (from the ``WANGGE_WEBHOOK_*`` settings)."""

    timeout_s: float = 10.0
    backoff_s: float = 1.0
    backoff_max_s: float = 600.0
    max_failures: int = 12
    allow_private: bool = False
    #: events one deliverer sends to one subscription before committing its cursor
    batch: int = 50
    batch_s: float = 2.0

    @classmethod
    def from_settings(cls, settings: Any) -> DeliveryConfig:
        return cls(
            timeout_s=settings.webhook_timeout_s,
            backoff_s=settings.webhook_backoff_s,
            backoff_max_s=settings.webhook_backoff_max_s,
            max_failures=settings.webhook_max_failures,
            allow_private=settings.webhook_allow_private,
        )

    def delay_s(self, failures: int) -> float:
        """Seconds before retry number ``failures``: exponential, capped, half of it
        random ("equal jitter") so failed subscriptions do not retry in step."""
        ceiling = min(self.backoff_max_s, self.backoff_s * 2 ** max(failures - 1, 0))
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))


# a due subscription with events it has not settled, locked for this deliverer only
_PICK = (
    select(EVENT_SUBSCRIPTIONS)
    .where(
        S.state == "active",
        S.next_attempt_at <= func.now(),
        S.cursor < select(func.coalesce(func.max(E.id), 0)).scalar_subquery(),
    )
    .order_by(S.next_attempt_at)
    .limit(1)
    .with_for_update(skip_locked=True)
)


def _wanted(sub: Any, upto: int, limit: int) -> Any:
    """The next events after the cursor (at most ``upto``) that ``sub`` wants and its
    creator's scope may see: the very filter of ``GET /v1/events``."""
    wanted = EventFilter(
        after=sub.cursor,
        types=tuple(sub.types or ()),
        area=sub.area,
        categories=tuple(sub.categories or ()),
        scope=Scope(area=sub.scope, submitter=sub.submitter),
    )
    conds = [*wanted.conditions(), E.id <= upto]
    return select(E.id, E.type, E.at, E.data).where(*conds).order_by(E.id).limit(limit)


def _send(sub: Any, event: Any, config: DeliveryConfig) -> str | None:
    """POST one event to the subscription's URL; None on a 2xx answer, else the error."""
    body = orjson.dumps(shown(event))
    headers = {
        "Wangge-Event-Id": str(event.id),
        "Wangge-Event-Type": event.type,
        "Wangge-Subscription": sub.id,
        "Wangge-Signature": sign(sub.secret, body),
    }
    try:
        status = post(
            sub.url, body, headers, timeout_s=config.timeout_s, allow_private=config.allow_private
        )
    except Refused as exc:
        return str(exc)
    return None if 200 <= status < 300 else f"HTTP {status}"


def deliver_next(engine: Engine, config: DeliveryConfig, *, name: str = "") -> bool:
    """Deliver the next events of one due subscription, in order, until one fails (its retry
    is scheduled), ``config.batch`` are sent or ``config.batch_s`` has passed; the cursor
    moves past each one delivered, committed at the end. False when no subscription had
    anything to do. ``name`` (the deliverer's) is logged."""
    with engine.begin() as conn:
        sub = conn.execute(_PICK).one_or_none()
        if sub is None:
            return False
        upto = conn.execute(select(func.coalesce(func.max(E.id), 0))).scalar_one()
        scope = Scope(area=sub.scope, submitter=sub.submitter)
        events = as_seen(conn, scope, conn.execute(_wanted(sub, upto, config.batch)).all())
        where = update(EVENT_SUBSCRIPTIONS).where(S.id == sub.id)
        if not events:  # nothing it wants up to here: skip ahead
            conn.execute(where.values(cursor=upto))
            return True
        cursor, sent, error = sub.cursor, 0, None
        started = time.monotonic()
        for event in events:
            error = _send(sub, event, config)
            if error is not None:
                break
            cursor, sent = event.id, sent + 1
            log.debug("event %s delivered to %s by %s", event.id, sub.id, name)
            if time.monotonic() - started > config.batch_s:
                break
        if error is None and sent == len(events) < config.batch:
            cursor = upto  # nothing else it wants up to here
        values: dict[str, Any] = {"cursor": cursor}
        if sent:
            values.update(
                failures=0,
                last_error=None,
                last_delivered_at=func.now(),
                delivered=S.delivered + sent,
            )
        if error is not None:
            failures = (0 if sent else sub.failures) + 1
            values.update(failures=failures, last_error=error[:500])
            if failures >= config.max_failures:
                values["state"] = "paused"
                log.warning("subscription %s paused after %s failures: %s", sub.id, failures, error)
            else:
                delay = timedelta(seconds=config.delay_s(failures))
                values["next_attempt_at"] = func.now() + delay
        conn.execute(where.values(**values))
        return True


_NUMBERS = itertools.count(1)


class Deliverer:
    """Delivery threads for one process; ``start`` and ``stop`` (idempotent)."""

    def __init__(
        self,
        engine: Engine,
        config: DeliveryConfig,
        *,
        threads: int = 2,
        poll_s: float = 2.0,
        sweep_s: float = 30.0,
        name: str | None = None,
    ) -> None:
        self.name = name or f"{socket.gethostname()}:{os.getpid()}/{next(_NUMBERS)}"
        self.engine = engine
        self.config = config
        self.threads = threads
        self.poll_s = poll_s
        self.sweep_s = sweep_s
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._ticks = 0
        self._running: list[threading.Thread] = []

    def start(self) -> None:
        if self._running:
            return
        self._running = [threading.Thread(target=self._listen, name="events-listen", daemon=True)]
        self._running += [
            threading.Thread(target=self._work, name=f"events-deliver-{i}", daemon=True)
            for i in range(self.threads)
        ]
        for thread in self._running:
            thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self.wake()
        deadline = time.monotonic() + timeout_s
        for thread in self._running:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._running = []

    def wake(self) -> None:
        with self._wake:
            self._ticks += 1
            self._wake.notify_all()

    def _work(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                seen = self._ticks
            try:
                busy = deliver_next(self.engine, self.config, name=self.name)
            except (DBAPIError, psycopg.Error) as exc:
                log.warning("event delivery: database error: %s", exc)
                busy = False
                self._stop.wait(self.poll_s)
            except Exception:  # a deliverer outlives any one failure; the next round retries
                log.exception("event delivery failed")
                busy = False
                self._stop.wait(self.poll_s)
            if busy:
                continue
            with self._wake:
                if self._ticks == seen:
                    self._wake.wait(self.poll_s)

    def _listen(self) -> None:
        """Wake the workers on every outbox notification (else every ``poll_s``); sweep."""
        next_sweep = time.monotonic()
        while not self._stop.is_set():
            try:
                pooled = self.engine.raw_connection()
                connection: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]
                pooled.detach()  # held for as long as this process runs
                connection.autocommit = True
                connection.execute(f"LISTEN {CHANNEL}")
                try:
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=self.poll_s, stop_after=1):
                            self.wake()
                        if time.monotonic() >= next_sweep:
                            next_sweep = time.monotonic() + self.sweep_s
                            self.sweep()
                        self.wake()  # the poll: retries fall due without a notification
                finally:
                    connection.close()
            except (DBAPIError, psycopg.Error) as exc:
                log.warning("event listener: database error: %s", exc)
                self._stop.wait(self.poll_s)
            except Exception:  # as the deliverers: log, wait, listen again
                log.exception("event listener failed")
                self._stop.wait(self.poll_s)

    def sweep(self) -> int:
        """One overdue sweep in its own transaction; how many events it wrote."""
        with self.engine.begin() as conn:
            return sweep_overdue(conn)


def run_until(engine: Engine, config: DeliveryConfig, stop: threading.Event, **kw: Any) -> None:
    """Deliver (threads of a :class:`Deliverer` made with ``kw``) until ``stop`` is set."""
    deliverer = Deliverer(engine, config, **kw)
    deliverer.start()
    try:
        stop.wait()
    finally:
        deliverer.stop()
