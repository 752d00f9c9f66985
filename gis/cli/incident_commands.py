"""``wangge import categories``, ``wangge incidents …`` and ``wangge replay``: incident
categories, re-assignment after boundary changes, statistics and stream replays."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from gis.cli.common import connection, engine, print_json, say, transaction
from gis.cli.data_commands import AsJson, DryRun, Replace

incidents = typer.Typer(help="Incidents: re-assignment and statistics.", no_args_is_help=True)


def import_categories(
    file: Annotated[Path, typer.Argument(help="CSV like data/incident_categories.csv.")],
    replace: Replace = False,
    dry_run: DryRun = False,
    as_json: AsJson = False,
) -> None:
    """Import incident categories (SLA hours, clock, duplicate radius/window, department),
    validated whole and written all or nothing. Example:

    \b
    wangge import categories data/incident_categories.csv --dry-run
    """
    from gis.incidents.categories import import_categories as run

    audit = None if dry_run else "import.categories"
    with transaction(audit=audit, target=str(file)) as conn:
        report = run(conn, file, replace=replace, dry_run=dry_run)
    if as_json:
        print_json(report.as_dict())
        return
    typer.echo(
        f"{file} → categories: added {len(report.added)}, changed {len(report.changed)}, "
        f"unchanged {len(report.unchanged)}, removed {len(report.removed)}"
    )
    if dry_run:
        typer.echo("  dry run: nothing was written")


@incidents.command("reassign")
def reassign(
    generation: Annotated[int, typer.Option(help="Boundary generation to assign against.", min=1)],
    dry_run: DryRun = False,
    as_json: AsJson = False,
) -> None:
    """Re-assign every open, located incident against a generation (after a boundary
    change) and report every change of owner. Example:

    \b
    wangge incidents reassign --generation 2 --dry-run
    """
    from gis.assign.service import Assigner
    from gis.incidents.relocate import reassign_open

    eng = engine()
    try:
        with eng.begin() as conn:
            report = reassign_open(conn, Assigner(eng), generation=generation, dry_run=dry_run)
            if not dry_run:
                from gis.security.audit import command_line_user, record_in

                who, client = command_line_user()
                record_in(
                    conn,
                    who,
                    action="incidents.reassign",
                    target=f"generation {generation}",
                    client=client,
                )
    finally:
        eng.dispose()
    if as_json:
        print_json(report.as_dict())
        return
    typer.echo(
        f"generation {generation}: {report.checked} open incidents checked, "
        f"{len(report.changes)} change owner"
    )
    for c in report.changes:
        typer.echo(f"  incident {c['id']}: {c['from']} → {c['to']}")
    if dry_run:
        typer.echo("  dry run: nothing was written")


@incidents.command("stats")
def stats_command(
    area: Annotated[str | None, typer.Option(help="Area code (descendants included).")] = None,
    start: Annotated[
        datetime | None, typer.Option("--from", help="reported_at ≥ this (ISO, with zone).")
    ] = None,
    end: Annotated[datetime | None, typer.Option("--to", help="reported_at < this.")] = None,
    group_by: Annotated[str, typer.Option(help="category, area or day.")] = "category",
) -> None:
    """Counts, resolution rate, median/p90 times to assignment and resolution, overdue, as
    JSON on stdout (the same figures as GET /v1/stats). Example:

    \b
    wangge incidents stats --group-by day --from 2026-09-01T00:00+08:00
    """
    from gis.incidents.query import Filters
    from gis.incidents.stats import stats
    from gis.settings import Settings

    filters = Filters.parse(area=area, start=start, end=end)
    with connection() as conn:
        print_json(stats(conn, filters, group_by=group_by, timezone=Settings().incident_timezone))


def replay_command(
    file: Annotated[Path, typer.Argument(help="CSV with one incident per row.")],
    category: Annotated[
        str | None, typer.Option(help="Category code for every row (or --category-col).")
    ] = None,
    category_col: Annotated[str | None, typer.Option(help="Column with a category.")] = None,
    category_map: Annotated[
        Path | None, typer.Option(help="CSV value,category mapping --category-col values.")
    ] = None,
    time_col: Annotated[str, typer.Option(help="Column with the report time/date.")] = "date",
    address_col: Annotated[str | None, typer.Option(help="Column with the address.")] = None,
    district_col: Annotated[str | None, typer.Option(help="Column with the district.")] = None,
    lon_col: Annotated[str | None, typer.Option(help="Column with longitudes.")] = None,
    lat_col: Annotated[str | None, typer.Option(help="Column with latitudes.")] = None,
    id_col: Annotated[
        str | None, typer.Option(help="Column with an external id (default: file:row).")
    ] = None,
    crs: Annotated[str, typer.Option(help="CRS of lon/lat: wgs84, gcj02, bd09, EPSG:n.")] = (
        "wgs84"
    ),
    source: Annotated[str, typer.Option(help="hotline, app, patrol, camera or other.")] = "other",
    as_json: AsJson = False,
) -> None:
    """Replay a dated CSV as an incident stream: every row is stored (assigned, or left for
    review) or linked as a duplicate; re-running skips rows already stored. Example:

    \b
    wangge replay ../shared/data/shanghai_covid2022_case_address_reports_daily.csv \\
        --category public_health --time-col date --address-col address \\
        --district-col district --lon-col wgs84_lng --lat-col wgs84_lat
    """
    from gis.assign.service import Assigner
    from gis.geocode.cache import GazetteerCache
    from gis.incidents.intake import IntakeContext
    from gis.incidents.locating import gazetteer_resolver
    from gis.incidents.replay import Columns, replay
    from gis.incidents.worktime import WorkCalendar
    from gis.settings import Settings

    settings = Settings()
    cols = Columns(
        time=time_col,
        address=address_col,
        district=district_col,
        lon=lon_col,
        lat=lat_col,
        category=category_col,
        id=id_col,
    )
    eng = engine(settings)
    try:
        ctx = IntakeContext(
            Assigner(eng),
            WorkCalendar.from_settings(settings),
            gazetteer_resolver(GazetteerCache(eng)),
        )
        total = _count_rows(file)
        with typer.progressbar(length=total, label="replaying", file=sys.stderr) as bar:
            report = replay(
                eng,
                ctx,
                file,
                cols,
                category=category,
                category_map=category_map,
                source=source,
                crs=crs,
                timezone=settings.incident_timezone,
                progress=bar.update,
            )
    finally:
        eng.dispose()
    if as_json:
        print_json(report.as_dict())
        return
    typer.echo(
        f"{report.rows} rows: {report.stored} stored ({report.duplicates} linked as "
        f"duplicates, {report.needs_review} need review), {report.existing} already stored, "
        f"{report.errors} rejected"
    )
    for line in report.first_errors or []:
        say(f"  {line}")


def _count_rows(file: Path) -> int:
    if not file.exists():
        return 0
    with file.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def register(app: typer.Typer, importer: typer.Typer) -> None:
    """Add ``import categories``, ``incidents …`` and ``replay`` to the CLI."""
    importer.command("categories")(import_categories)
    app.add_typer(incidents, name="incidents")
    app.command("replay")(replay_command)
