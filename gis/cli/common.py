"""Shared plumbing for CLI commands: settings, the database engine, output helpers."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import typer
from sqlalchemy import Connection, Engine

from gis.errors import Unavailable
from gis.settings import Settings
from gis.store.db import database_url, make_engine
from gis.store.migrate import current_revision, head_revision, upgrade


def say(message: str) -> None:
    """Progress and status go to stderr so stdout stays machine-readable."""
    typer.echo(message, err=True)


def engine(settings: Settings | None = None, *, migrate: bool = True) -> Engine:
    """An engine on the configured or managed database, migrated to the newest schema.

    The managed cluster is started and migrated on demand; an external database must have
    been migrated with ``wangge db migrate``.
    """
    settings = settings or Settings()
    url = database_url(settings, progress=say)
    eng = make_engine(url)
    if migrate:
        revision = current_revision(eng)
        if revision != head_revision():
            if settings.database_url:
                raise Unavailable(
                    f"the database schema is at {revision or 'nothing'}, wangge "
                    f"needs {head_revision()}; run `wangge db migrate`",
                    field="database",
                )
            say("migrating the database schema")
            upgrade(eng)
    return eng


@contextlib.contextmanager
def transaction(
    settings: Settings | None = None,
    *,
    audit: str | None = None,
    target: str = "",
    **detail: Any,
) -> Iterator[Connection]:
    """A connection in a transaction: committed if the block succeeds, else rolled back.
    With ``audit`` (an action such as ``import.boundaries``), the audit log records who ran
    it, in the same transaction (no entry for a failed or rolled-back run)."""
    eng = engine(settings)
    try:
        with eng.begin() as conn:
            yield conn
            if audit is not None:
                from gis.security.audit import command_line_user, record_in

                who, client = command_line_user()
                record_in(conn, who, action=audit, target=target, client=client, detail=detail)
    finally:
        eng.dispose()


@contextlib.contextmanager
def connection(settings: Settings | None = None) -> Iterator[Connection]:
    """A read-only use of the database (nothing is committed)."""
    eng = engine(settings)
    try:
        with eng.connect() as conn:
            yield conn
    finally:
        eng.dispose()


def print_json(data: Any) -> None:
    """Pretty JSON to stdout (non-ASCII kept readable)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
