"""Schema migrations (Alembic), run programmatically so no alembic.ini is needed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at wangge's migrations (and ``url`` if given)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate the database to the newest schema; return (revision before, revision after)."""
    with engine.begin() as conn:
        before = _revision_of(conn)
        _upgrade_on(conn)
    return before, head_revision()


def _upgrade_on(conn: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def _revision_of(conn: Connection) -> str | None:
    heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) or None


def current_revision(engine: Engine) -> str | None:
    """The schema revision(s) the database is at, comma-separated (None if never migrated)."""
    with engine.connect() as conn:
        return _revision_of(conn)


def head_revision() -> str:
    """The newest schema revision wangge knows (history is one line: tests/gis/store/test_migrate.py
    fails on a second head)."""
    return ",".join(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))
