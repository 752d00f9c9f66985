"""``wangge events …``: deliver webhooks from a process of their own, replay a
subscription, list subscriptions, run the overdue sweep once."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from gis.cli.common import connection, print_json, say, transaction

events = typer.Typer(help="Events and webhook deliveries (issue 26).", no_args_is_help=True)


@events.command("run")
def run_command() -> None:
    """Deliver webhooks until stopped (Ctrl-C), beside or instead of the API workers'
    deliverers (WANGGE_WEBHOOK_DELIVER=false): database locks make exactly one deliverer
    take each event, however many run.

    \b
    wangge events run
    """
    from gis.cli.common import engine
    from gis.events.delivery import DeliveryConfig, run_until
    from gis.settings import Settings

    settings = Settings()
    eng = engine(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    say("delivering events; Ctrl-C stops")
    try:
        run_until(
            eng,
            DeliveryConfig.from_settings(settings),
            stop,
            threads=settings.webhook_threads,
            poll_s=settings.events_poll_s,
            sweep_s=settings.events_sweep_s,
        )
    finally:
        eng.dispose()


@events.command("replay")
def replay_command(
    subscription: Annotated[str, typer.Option(help="Subscription id (sub_…).")],
    from_id: Annotated[int, typer.Option("--from", help="First event id to deliver again.")],
) -> None:
    """Deliver a subscription's events again from an event id on, and resume it if it was
    paused (events are kept in the outbox, so nothing a paused subscription missed is lost).

    \b
    wangge events replay --subscription sub_Xy12 --from 1200
    """
    from gis.events.subscriptions import replay

    with transaction(audit="subscription.replay", target=subscription, start=from_id) as conn:
        out = replay(conn, subscription, from_id=from_id)
    say(f"subscription {out['id']} resumes after event {out['cursor']} ({out['url']})")


@events.command("subscriptions")
def subscriptions_command() -> None:
    """Every subscription as JSON (no secrets): state, cursor, failures, last error."""
    from gis.access import EVERYWHERE
    from gis.events.subscriptions import list_subscriptions

    with connection() as conn:
        print_json(list_subscriptions(conn, scope=EVERYWHERE))


@events.command("sweep")
def sweep_command() -> None:
    """Write the ``incident.overdue`` events due since the last sweep (deliverers do this
    every WANGGE_EVENTS_SWEEP_S seconds)."""
    from gis.events.outbox import sweep_overdue

    with transaction() as conn:
        n = sweep_overdue(conn)
    say(f"{n} incidents became overdue")
