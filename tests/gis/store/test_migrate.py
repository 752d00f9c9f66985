"""Migrations are one line of history that upgrades from empty and downgrades to nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from gis.store.cluster import create_database, drop_database
from gis.store.db import make_engine
from gis.store.migrate import MIGRATIONS, alembic_config, current_revision, head_revision, upgrade

# the one merge revision: before it, three branches grew side by side
MERGE = "0014_one_line"


def test_history_is_one_line_with_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1, script.get_heads()
    assert head_revision() == script.get_current_head()
    line = list(script.walk_revisions(base="base", head="heads"))  # newest first
    after_merge = [r for r in line if r.revision > MERGE or r.revision == MERGE]
    for rev in after_merge:
        if rev.revision != MERGE:  # strictly linear after the merge
            assert isinstance(rev.down_revision, str), rev.revision
    files = {p.stem for p in (MIGRATIONS / "versions").glob("*.py")}
    for rev in line:  # the revision id starts the file's name, and starts with its number
        assert re.fullmatch(r"\d{4}(_\w+)?", rev.revision), rev.revision
        assert any(f.startswith(rev.revision) for f in files), rev.revision


@pytest.fixture
def empty_db(admin_url: str) -> Iterator[Engine]:
    """A database created empty (not copied from the migrated template)."""
    name = "wangge_test_migrate_empty"
    drop_database(admin_url, name)
    engine = make_engine(create_database(admin_url, name))
    yield engine
    engine.dispose()
    drop_database(admin_url, name)


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names()) - {"spatial_ref_sys", "alembic_version"}


def test_upgrade_from_empty_downgrade_to_base_and_up_again(empty_db: Engine) -> None:
    assert current_revision(empty_db) is None and _tables(empty_db) == set()
    assert upgrade(empty_db) == (None, head_revision())
    tables = _tables(empty_db)
    assert {"areas", "incidents", "incident_events", "api_keys"} <= tables

    with empty_db.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert current_revision(empty_db) is None
    assert _tables(empty_db) == set(), "downgrade to base left tables behind"
    with empty_db.connect() as conn:
        views = conn.execute(text("SELECT viewname FROM pg_views WHERE schemaname = 'public'"))
        assert set(views.scalars()) <= {"geometry_columns", "geography_columns"}  # PostGIS's

    assert upgrade(empty_db) == (None, head_revision())  # and the line upgrades again
    assert _tables(empty_db) == tables
