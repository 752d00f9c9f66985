"""Pooled connections the server ended are found at checkout without a round trip (no
``SELECT 1`` per request): the next request gets a live connection, never an error."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from gis.store.db import make_engine


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_pooled_connection_the_server_ended_is_replaced(
    new_database: Callable[[], str],
) -> None:
    url = new_database()
    engine, admin = make_engine(url), make_engine(url)
    try:
        first = _backend(engine)
        assert _backend(engine) == first  # the pool hands the same connection out again
        with admin.connect() as conn:  # what a server restart does to every session
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the backend has exited and closed the socket
            with admin.connect() as conn:
                gone = not conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": first}
                ).scalar_one()
            if gone:
                break
            time.sleep(0.05)
        second = _backend(engine)  # no error: the dead connection was discarded at checkout
        assert second != first
        assert _backend(engine) == second
    finally:
        engine.dispose()
        admin.dispose()
