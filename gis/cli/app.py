"""Command definitions. Run ``wangge --help`` or ``wangge COMMAND --help``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gis.cli import (
    backup_commands,
    coverage_commands,
    data_commands,
    db_commands,
    event_commands,
    geocode_commands,
    incident_commands,
    keys_commands,
    maps_commands,
    patrol_commands,
)

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
app.add_typer(keys_commands.keys, name="keys")
app.add_typer(event_commands.events, name="events")  # issue 26
app.add_typer(patrol_commands.patrols, name="patrols")  # patrols (issue 27)
geocode_commands.register(app, data_commands.importer)
incident_commands.register(app, data_commands.importer)
backup_commands.register(app)  # issue 24: database and media together
app.command("coverage")(coverage_commands.coverage)
app.command("map")(maps_commands.map_command)  # maps (issue 15)


@app.command("assign")
def assign_command(
    file: Annotated[Path, typer.Argument(help="CSV with lon/lat columns, or GeoJSON/GPKG points.")],
    out: Annotated[Path, typer.Option(help="Output file (CSV for CSV input, else GeoJSON).")],
    lon_col: Annotated[str, typer.Option(help="CSV column with longitudes.")] = "lon",
    lat_col: Annotated[str, typer.Option(help="CSV column with latitudes.")] = "lat",
    crs: Annotated[
        str, typer.Option(help="Coordinates of the input: wgs84, gcj02, bd09, EPSG:n.")
    ] = "wgs84",
    level: Annotated[
        str | None,
        typer.Option(help="Level to assign to (default micro_grid, else the deepest present)."),
    ] = None,
    generation: Annotated[
        int | None, typer.Option(help="Boundary generation (default current).")
    ] = None,
    chunk_size: Annotated[int, typer.Option(help="Rows per chunk.", min=1)] = 100_000,
) -> None:
    """Assign every point of a file to its owning area, streaming any size of file.

    Keeps every input column and appends owner_code, owner_name, also_covered_by,
    nearest_code, nearest_distance_m and assign_error. Example:

    \b
    wangge assign calls.csv --out calls_assigned.csv --crs gcj02
    """
    from gis.assign.files import assign_file, count_rows
    from gis.assign.service import Assigner
    from gis.cli.common import engine, say

    eng = engine()
    try:
        total = count_rows(file) if file.exists() else 0
        with typer.progressbar(length=total, label="assigning", file=sys.stderr) as bar:
            summary = assign_file(
                Assigner(eng),
                file,
                out,
                lon_col=lon_col,
                lat_col=lat_col,
                crs=crs,
                level=level,
                generation=generation,
                chunk_size=chunk_size,
                progress=bar.update,
            )
    finally:
        eng.dispose()
    say(
        f"{summary.rows} rows → {out}: {summary.assigned} assigned, {summary.outside} outside "
        f"every {summary.level}, {summary.errors} with errors (generation {summary.generation})"
    )
