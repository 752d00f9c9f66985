"""``wangge db …``: the managed PostgreSQL cluster and schema migrations."""

from __future__ import annotations

import typer

from gis.cli.common import print_json, say
from gis.settings import Settings
from gis.store.db import make_engine, managed_cluster

db = typer.Typer(help="Start, stop and migrate the database.", no_args_is_help=True)


@db.command()
def start() -> None:
    """Start the managed cluster (initialising it on first use) and migrate it. Idempotent."""
    settings = Settings()
    if settings.database_url:
        say("WANGGE_DATABASE_URL is set: nothing to start; migrating it")
        _migrate(settings)
        return
    managed_cluster(settings).start(progress=say)
    _migrate(settings)
    say("database ready")


@db.command()
def stop() -> None:
    """Stop the managed cluster."""
    settings = Settings()
    if settings.database_url:
        say("WANGGE_DATABASE_URL is set: wangge does not manage that server")
        return
    stopped = managed_cluster(settings).stop(progress=say)
    say("stopped" if stopped else "not running")


@db.command()
def destroy(
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Stop the managed cluster and delete all its data (the home folder, and the system
    folder used when the home folder is private). Example: `wangge db destroy --yes`."""
    settings = Settings()
    if settings.database_url:
        say("WANGGE_DATABASE_URL is set: wangge does not manage that server")
        return
    cluster = managed_cluster(settings)
    if not yes:
        typer.confirm(f"delete every database of the cluster in {cluster.data_dir}?", abort=True)
    cluster.destroy(progress=say)
    say("destroyed")


@db.command()
def status() -> None:
    """Show where the database is and whether it runs (JSON on stdout)."""
    settings = Settings()
    if settings.database_url:
        from sqlalchemy.engine import make_url

        from gis.store.migrate import current_revision

        eng = make_engine(settings.database_url)
        try:
            revision = current_revision(eng)
        finally:
            eng.dispose()
        print_json(
            {
                "managed": False,
                "url": make_url(settings.database_url).render_as_string(hide_password=True),
                "revision": revision,
            }
        )
        return
    st = managed_cluster(settings).status()
    print_json(
        {
            "managed": True,
            "initialised": st.initialised,
            "running": st.running,
            "pid": st.pid,
            "port": st.port,
            "data_dir": str(st.data_dir),
        }
    )
    if not st.running:
        raise typer.Exit(3)


@db.command()
def url() -> None:
    """Print the database URL (starting the managed cluster if needed)."""
    from gis.store.db import database_url

    typer.echo(database_url(Settings(), progress=say))


@db.command()
def migrate() -> None:
    """Bring the schema to the newest revision (Alembic)."""
    _migrate(Settings())


def _migrate(settings: Settings) -> None:
    from gis.store.db import database_url
    from gis.store.migrate import upgrade

    eng = make_engine(database_url(settings, progress=say))
    before, after = upgrade(eng)
    eng.dispose()
    say(f"schema at {after}" + ("" if before == after else f" (was {before or 'empty'})"))


@db.command()
def replica(
    action: str = typer.Argument(
        "start", help="start (copy the primary the first time), stop, destroy or url."
    ),
) -> None:
    """A streaming read replica of the managed cluster (issue 28): `pg_basebackup -R` into
    WANGGE_HOME/replica, its own port. Prints its URL on start; point the API at it with
    WANGGE_DATABASE_REPLICA_URLS. Example: `wangge db replica start`."""
    from gis.store.replica import ReplicaCluster

    settings = Settings()
    if settings.database_url:
        say("WANGGE_DATABASE_URL is set: wangge does not manage that server or its replicas")
        raise typer.Exit(2)
    standby = ReplicaCluster(managed_cluster(settings))
    if action == "start":
        managed_cluster(settings).start(progress=say)
        typer.echo(standby.start(progress=say))
    elif action == "stop":
        say("stopped" if standby.stop(progress=say) else "not running")
    elif action == "destroy":
        standby.destroy(progress=say)
        say("destroyed")
    elif action == "url":
        typer.echo(standby.url())
    else:
        raise typer.BadParameter("start, stop, destroy or url", param_hint="action")
