"""Command definitions. Run ``wangge --help`` or ``wangge COMMAND --help``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gis.cli import data_commands, db_commands

app = typer.Typer(
    name="wangge",
    help=(
        "wangge (网格): grid hierarchy, boundary history and point-to-grid assignment for "
        "community micro-grid governance.\n\n"
        "Quick start: `wangge demo load` then `wangge serve`. With no WANGGE_DATABASE_URL, "
        "wangge runs its own PostgreSQL + PostGIS cluster under ./.wangge."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db_commands.db, name="db")
app.add_typer(data_commands.importer, name="import")
app.add_typer(data_commands.generations, name="generations")
app.add_typer(data_commands.exporter, name="export")
app.add_typer(data_commands.demo, name="demo")


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address [WANGGE_HOST].")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port [WANGGE_PORT].")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from gis.cli.common import engine, say
    from gis.settings import Settings

    settings = Settings()
    engine(settings).dispose()  # start + migrate the database before binding the port
    host = host or settings.host
    port = port or settings.port
    say(f"wangge API on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    uvicorn.run("api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="info")


def _unused(_: Path) -> None:  # keeps Path imported for Typer's annotations in submodules
    pass
