"""``wangge patrols …``: import a GPX track, patrol coverage, purge old raw fixes (issue 27)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from gis.cli.common import connection, print_json, say, transaction

patrols = typer.Typer(
    help="Patrols (巡查): GPS tracks and the buildings they visited.", no_args_is_help=True
)


@patrols.command("import")
def import_gpx(
    file: Annotated[Path, typer.Argument(help="A GPX file (<trk><trkseg><trkpt>…<time>).")],
    member: Annotated[str, typer.Option(help="Whose patrol it is (a name).")],
    area: Annotated[
        str | None, typer.Option(help="The member's micro-grid (default: where most fixes are).")
    ] = None,
) -> None:
    """Store a GPX track as an ended patrol of MEMBER and print its visited buildings.

    \b
    wangge patrols import walk.gpx --member 王芳
    """
    from gis.access import Principal, Scope
    from gis.coverage.thresholds import resolve_thresholds
    from gis.patrols.gpx import parse_gpx
    from gis.patrols.store import upload_patrol
    from gis.security.audit import Entry, command_line_user
    from gis.settings import Settings

    settings = Settings()
    with file.open("rb") as source:
        fixes = parse_gpx(source, max_fixes=settings.patrol_max_fixes)
    who, client = command_line_user()
    owner = Principal(key_id=None, name=member, role="command_line")
    with transaction(settings) as conn:
        answer = upload_patrol(
            conn,
            owner,
            fixes,
            source="gpx",
            thresholds=resolve_thresholds(settings.coverage_thresholds),
            scope=Scope(area),  # the member's micro-grid, when given
            max_fixes=settings.patrol_max_fixes,
            audit=Entry(who, "patrol.upload", client),
        )
    say(
        f"patrol {answer['id']}: {answer['fixes_kept']} of {answer['fixes_received']} fixes kept, "
        f"{answer['distance_m']:.0f} m, {len(answer['visits'])} buildings visited"
    )
    print_json(answer)


@patrols.command("coverage")
def coverage_command(
    area: Annotated[str | None, typer.Option(help="This area and below (default all).")] = None,
    start: Annotated[
        datetime | None, typer.Option("--from", help="Default: --to minus the window.")
    ] = None,
    end: Annotated[datetime | None, typer.Option("--to", help="Default: now.")] = None,
) -> None:
    """Buildings and households visited per micro-grid, per building and per member (JSON)."""
    from gis.coverage.thresholds import resolve_thresholds
    from gis.patrols.coverage import patrol_coverage
    from gis.settings import Settings

    settings = Settings()
    with connection(settings) as conn:
        answer = patrol_coverage(
            conn,
            area=area,
            start=start,
            end=end,
            thresholds=resolve_thresholds(settings.coverage_thresholds),
        )
    print_json(answer)


@patrols.command("purge")
def purge(
    dry_run: Annotated[bool, typer.Option(help="Only count what would be deleted.")] = False,
    days: Annotated[
        int | None,
        typer.Option(min=1, help="Retention in days (default WANGGE_PATROL_RETENTION_DAYS)."),
    ] = None,
) -> None:
    """Delete the raw fixes of patrols that ended longer ago than the retention; visited
    buildings and totals stay. Run it daily (cron or a systemd timer)."""
    from gis.patrols.purge import purge_fixes
    from gis.settings import Settings

    settings = Settings()
    keep = days or settings.patrol_retention_days
    if dry_run:
        with connection(settings) as conn:
            answer = purge_fixes(conn, retention_days=keep, dry_run=True)
    else:
        with transaction(settings, audit="patrol.purge", retention_days=keep) as conn:
            answer = purge_fixes(conn, retention_days=keep)
    verb = "would delete" if dry_run else "deleted"
    say(
        f"{verb} {answer['fixes']} fixes of {answer['patrols']} patrols "
        f"ended before {answer['before']}"
    )
    print_json(answer)
