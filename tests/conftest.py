"""Shared fixtures: a real PostGIS (the managed cluster, or WANGGE_DATABASE_URL), throwaway
databases, per-test rollback, and a real HTTP server. If PostGIS cannot start, every test that
needs it errors: nothing is skipped."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Connection, Engine, text

from gis.settings import Settings
from gis.store.cluster import admin_connection, create_database, drop_database
from gis.store.db import database_url, make_engine
from gis.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = ROOT / "data" / "boundaries"
TABLES = ("generations", "areas", "area_parts", "buildings", "staff", "facilities")


def _reference_dir() -> Path:
    path = Settings().reference_data.expanduser()
    return (path if path.is_absolute() else ROOT / path).resolve()


# The real Shanghai reference data (WANGGE_REFERENCE_DATA, default ../shared/data): not in the
# repository. Tests marked ``reference_data`` read it in place and run whenever the folder is
# there; without it they are deselected and the run says so in its last lines.
REFERENCE_DATA = _reference_dir()


def reference(name: str) -> Path:
    """A file of the reference data (read in place, never copied); a missing file fails the test.

    Only tests marked ``reference_data`` may call this."""
    path = REFERENCE_DATA / name
    assert path.exists(), f"reference data {path} is missing"
    return path


_REFERENCE_COUNT = pytest.StashKey[int]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    marked = [item for item in items if item.get_closest_marker("reference_data")]
    config.stash[_REFERENCE_COUNT] = len(marked)
    if marked and not REFERENCE_DATA.is_dir():
        config.hook.pytest_deselected(items=marked)
        items[:] = [item for item in items if not item.get_closest_marker("reference_data")]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    # (under pytest-xdist the workers collect, so the count is unknown here)
    n = config.stash.get(_REFERENCE_COUNT, None)
    checks = "the reference_data checks" if n is None else f"{n} reference_data check(s)"
    if REFERENCE_DATA.is_dir():
        line = f"reference data: {checks} ran on {REFERENCE_DATA}"
    else:
        line = (
            f"reference data: NOT RUN: {REFERENCE_DATA} does not exist, so {checks} were "
            "deselected (set WANGGE_REFERENCE_DATA to the folder holding the data to run them)"
        )
    terminalreporter.write_line(line, yellow=not REFERENCE_DATA.is_dir(), bold=True)


@pytest.fixture(scope="session")
def admin_url() -> str:
    """URL of the wangge database on the managed cluster (started here) or the configured one."""
    return database_url(Settings())


@pytest.fixture(scope="session")
def template_db(admin_url: str) -> Iterator[str]:
    """A migrated, empty database that test databases are copied from."""
    name = f"wangge_test_tpl_{os.getpid()}"
    url = create_database(admin_url, name)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield name
    drop_database(admin_url, name)


@pytest.fixture(scope="session")
def new_database(admin_url: str, template_db: str) -> Iterator[Callable[[], str]]:
    """Factory of fresh migrated databases (copies of the template); all dropped at the end."""
    made: list[str] = []

    def make() -> str:
        from psycopg import sql
        from sqlalchemy.engine import make_url

        name = f"wangge_test_{uuid.uuid4().hex[:10]}"
        with admin_connection(admin_url) as c:
            c.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template_db)
                )
            )
        made.append(name)
        return make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    yield make
    for name in made:
        drop_database(admin_url, name)


@pytest.fixture(scope="session")
def engine(new_database: Callable[[], str]) -> Iterator[Engine]:
    """Engine on the session's test database (tests roll back; see ``conn``)."""
    eng = make_engine(new_database())
    yield eng
    eng.dispose()


def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back when the generator closes."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    yield from rolled_back(engine)


@pytest.fixture
def fresh_db(new_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch) -> str:
    """A new empty database that WANGGE_DATABASE_URL points at (for CLI tests that commit)."""
    url = new_database()
    monkeypatch.setenv("WANGGE_DATABASE_URL", url)
    return url


def snapshot(url: str) -> dict[str, object]:
    """Every table's full contents (hashed) and every sequence position."""
    eng = make_engine(url)
    try:
        with eng.connect() as c:
            state: dict[str, object] = {
                t: tuple(
                    c.execute(
                        text(
                            f"SELECT count(*), md5(coalesce(string_agg(x::text, chr(10) "
                            f"ORDER BY x::text), '')) FROM {t} x"
                        )
                    ).one()
                )
                for t in TABLES
            }
            state["sequences"] = sorted(
                c.execute(text("SELECT sequencename, last_value FROM pg_sequences")).all()
            )
            return state
    finally:
        eng.dispose()


# --- coverage: one committed copy of the demo street for the tests that only read it ---
@pytest.fixture(scope="session")
def demo_db(new_database: Callable[[], str]) -> str:
    """URL of a database holding the loaded demo street (tests must not commit changes)."""
    from gis.demo_load import load_demo

    url = new_database()
    eng = make_engine(url)
    try:
        with eng.begin() as c:
            load_demo(c, DEMO_DATA)
    finally:
        eng.dispose()
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_api_key(url: str, role: str = "admin", scope: str | None = None) -> str:
    """A new API key for ``role`` (and ``scope``) in the database at ``url``."""
    from gis.security.keys import create_key

    eng = make_engine(url)
    try:
        with eng.begin() as c:
            return create_key(c, role=role, scope=scope, name=f"test {role}").key
    finally:
        eng.dispose()


class LiveServer:
    """A real uvicorn server in a background thread.

    Every endpoint needs an API key: the server's database gets an admin key (``key``; pass
    ``key=`` when the database is away at start), sent by ``client()`` and ``headers``."""

    def __init__(self, settings: Settings, *, key: str | None = None) -> None:
        from api.app import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key = key or create_api_key(database_url(settings, start=False))
        self.headers = {"X-API-Key": self.key}
        from api.edge import server_config

        config = server_config(  # as `wangge serve` runs it (issue 22 A: bounded heads)
            create_app(settings),
            settings,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        # A start that fails ends the thread at once; a slow one is not a failure: the first
        # start in a checkout compiles the index kernels (35 s at load 4 on 2 cores, several
        # times that when the machine is loaded), which the old 180 s limit did not cover.
        deadline = time.monotonic() + 900
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the API server did not start: its lifespan failed (see log)")
            if time.monotonic() > deadline:
                raise RuntimeError("the API server did not start within 900 s")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def client(self, *, timeout: float = 30, key: str | None = None) -> httpx.Client:
        """An HTTP client for this server sending ``key`` (default: the admin key)."""
        return httpx.Client(
            base_url=self.url, timeout=timeout, headers={"X-API-Key": key or self.key}
        )
