"""``wangge import|generations|export|demo …``: getting data in and out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gis.cli.common import connection, engine, print_json, say, transaction
from gis.vector import preview

importer = typer.Typer(
    help="Import boundaries, buildings, staff and facilities.", no_args_is_help=True
)
generations = typer.Typer(help="List and activate boundary generations.", no_args_is_help=True)
exporter = typer.Typer(help="Export areas to GeoJSON or GeoPackage.", no_args_is_help=True)
demo = typer.Typer(help="The built-in demo street (Zhenru-like, Shanghai).", no_args_is_help=True)

CrsOption = Annotated[
    str | None,
    typer.Option(
        "--crs",
        help="Coordinates of the file: wgs84, gcj02, bd09 or EPSG:n (default: the "
        "file's own CRS; GeoJSON without one is WGS-84).",
    ),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Validate and report; write nothing.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")]
Replace = Annotated[
    bool, typer.Option("--replace", help="Remove rows whose code is not in the file (reported).")
]
DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "boundaries"


def _print_report(report: Any, *, as_json: bool, title: str) -> None:
    data = report.as_dict()
    if as_json:
        print_json(data)
        return
    typer.echo(title)
    typer.echo(
        f"  added {len(data['added'])}, changed {len(data['changed'])}, unchanged "
        f"{len(data['unchanged'])}, removed {len(data['removed'])}"
    )
    for label in ("added", "changed", "removed"):
        codes = data[label]
        if codes and label != "added":
            shown = preview(codes, 20)
            typer.echo(f"  {label}: {shown}")
    if data["repairs"]:
        typer.echo(
            f"  repaired {len(data['repairs'])} invalid geometr"
            f"{'y' if len(data['repairs']) == 1 else 'ies'}:"
        )
        for line in data["repairs"]:
            typer.echo(f"    {line}")
    for line in data.get("warnings", []):
        typer.echo(f"  warning: {line}")
    if data["dry_run"]:
        typer.echo("  dry run: nothing was written")


@importer.command("boundaries")
def import_boundaries(
    file: Annotated[
        Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile or zipped Shapefile of polygons.")
    ],
    level: Annotated[
        str,
        typer.Option(
            help="Level of every area in the file: district, "
            "street, community, grid, micro_grid, block, corridor."
        ),
    ],
    code_field: Annotated[str, typer.Option(help="Column with the stable area code.")],
    name_field: Annotated[str, typer.Option(help="Column with the area name.")],
    parent_field: Annotated[
        str | None,
        typer.Option(
            help="Column with the parent area's code (an area of a higher level already "
            "imported into this generation)."
        ),
    ] = None,
    crs: CrsOption = None,
    layer: Annotated[str | None, typer.Option(help="Layer of a multi-layer file.")] = None,
    description: Annotated[str, typer.Option(help="Note stored on the generation.")] = "",
    activate: Annotated[
        bool, typer.Option("--activate", help="Make the generation current right after the import.")
    ] = False,
    dry_run: DryRun = False,
    as_json: AsJson = False,
) -> None:
    """Import one level of boundaries into the open generation, all or nothing.

    The file is the complete set of that level for the new generation: unchanged areas are
    carried over, changed ones get a new version, missing ones end. Invalid polygons are
    repaired and each repair reported. Example:

    \b
    wangge import boundaries towns.geojson --level street \\
        --code-field id --name-field name --activate
    """
    from gis.areas.importer import import_areas
    from gis.areas.reading import read_area_file

    source = read_area_file(
        file,
        code_field=code_field,
        name_field=name_field,
        parent_field=parent_field,
        crs=crs,
        layer=layer,
    )
    audit = None if dry_run else "import.boundaries"
    with transaction(audit=audit, target=str(file), level=level) as conn:
        report = import_areas(
            conn, source, level=level, description=description, activate=activate, dry_run=dry_run
        )
    state = "activated" if report.activated else ("dry run" if dry_run else "open")
    _print_report(
        report,
        as_json=as_json,
        title=f"{file} → {len(source.features)} {level} area(s), read as "
        f"{source.crs}, generation {report.generation} ({state})",
    )
    if not dry_run and not report.activated:
        say("run `wangge generations activate` to make this generation current")


def _register_command(kind: str, file: Path, **kwargs: Any) -> None:
    from gis import registers

    as_json = kwargs.pop("as_json")
    audit = None if kwargs.get("dry_run") else f"import.{kind}"
    with transaction(audit=audit, target=str(file)) as conn:
        report = getattr(registers, f"import_{kind}")(conn, file, **kwargs)
    _print_report(report, as_json=as_json, title=f"{file} → {kind}")


@importer.command("buildings")
def import_buildings(
    file: Annotated[
        Path, typer.Argument(help="Polygons with code, name, address, households, residents.")
    ],
    code_field: Annotated[str, typer.Option(help="Column with the building code.")] = "code",
    crs: CrsOption = None,
    replace: Replace = False,
    dry_run: DryRun = False,
    as_json: AsJson = False,
) -> None:
    """Import building footprints, upserting by code."""
    _register_command(
        "buildings",
        file,
        crs=crs,
        code_field=code_field,
        replace=replace,
        dry_run=dry_run,
        as_json=as_json,
    )


@importer.command("staff")
def import_staff(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: code,name,role,phone,area_code,building_code (one of the last two)."
        ),
    ],
    replace: Replace = False,
    dry_run: DryRun = False,
    as_json: AsJson = False,
) -> None:
    """Import the staff roster, upserting by code. Roles: micro_grid_leader,
    full_time_member, part_time_member, building_team_leader, department_liaison."""
    _register_command("staff", file, replace=replace, dry_run=dry_run, as_json=as_json)


@importer.command("facilities")
def import_facilities(
    file: Annotated[Path, typer.Argument(help="Points with code, kind, name.")],
    crs: CrsOption = None,
    replace: Replace = False,
    dry_run: DryRun = False,
    as_json: AsJson = False,
) -> None:
    """Import service facilities (clinics, schools, elderly care…), upserting by code."""
    _register_command(
        "facilities", file, crs=crs, replace=replace, dry_run=dry_run, as_json=as_json
    )


@generations.command("list")
def list_generations() -> None:
    """List boundary generations, newest first (JSON)."""
    from gis.areas.generations import list_generations as list_all

    with connection() as conn:
        print_json([g.__dict__ for g in list_all(conn)])


@generations.command("activate")
def activate_generation() -> None:
    """Make the open generation current, atomically (readers see old or new, never half)."""
    from gis.areas.generations import activate

    with transaction(audit="generation.activate") as conn:
        number = activate(conn)
    say(f"generation {number} is now current")


@exporter.command("areas")
def export_areas(
    level: Annotated[str, typer.Option(help="Level to export.")],
    out: Annotated[Path, typer.Option(help="Output file.")],
    fmt: Annotated[str, typer.Option("--format", help="geojson or gpkg.")] = "geojson",
    generation: Annotated[
        int | None, typer.Option(help="Generation to export (default: current).")
    ] = None,
) -> None:
    """Export one level's areas (code, name, parent_code, attributes) for re-import."""
    from gis.areas.export import export_areas as export
    from gis.areas.generations import resolve_generation

    with connection() as conn:
        number = resolve_generation(conn, generation=generation)
        count = export(conn, level=level, generation=number, fmt=fmt, out=out)
    say(f"wrote {count} {level} area(s) of generation {number} to {out}")


@demo.command("generate")
def demo_generate(
    out: Annotated[Path, typer.Option(help="Folder to write.")] = DEMO_DIR,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 2024,
) -> None:
    """Generate the demo street's files deterministically (committed in data/boundaries)."""
    from gis.demo import generate

    summary = generate(out, seed=seed)
    say(f"wrote demo street to {out}")
    print_json(summary.__dict__ if hasattr(summary, "__dict__") else str(summary))


@demo.command("load")
def demo_load(
    data: Annotated[Path, typer.Option(help="Folder with the demo files.")] = DEMO_DIR,
) -> None:
    """Load the demo street into the database unless it is already loaded unchanged."""
    from gis.demo_load import load_demo, load_demo_history
    from gis.patrols.demo import load_patrols

    with transaction(audit="demo.load", target=str(data)) as conn:
        lines = load_demo(conn, data, progress=say)
    eng = engine()  # incidents: the history is taken in once the boundaries are committed
    try:
        lines += load_demo_history(eng, progress=say)
        with eng.begin() as conn:  # patrols (issue 27): a month of synthetic patrols
            lines += load_patrols(conn, data, progress=say)
    finally:
        eng.dispose()
    for line in lines:
        typer.echo(line)


@demo.command("keys")
def demo_keys() -> None:
    """Make the demo's API keys and say where to sign in: an admin key, a field worker's key
    for the micro-grid with the most open incidents, and an official of its community
    (earlier demo keys are revoked). `make demo` runs it.

    \b
    wangge demo keys
    """
    from gis.field.demo import create_demo_people
    from gis.security.keys import create_demo_keys
    from gis.settings import Settings

    settings = Settings()
    base = f"http://{settings.host}:{settings.port}"

    with transaction(audit="keys.demo") as conn:
        admin, *_ = create_demo_keys(conn, None)
        # issue 24: a field worker whose micro-grid has open incidents, and an official
        people = create_demo_people(conn)
    typer.echo(f"demo admin key:        {admin.key}")
    if people is not None:
        grid = people.grid
        typer.echo(f"field worker of {grid}: {people.worker.key}")
        typer.echo(f"  she is:              {people.worker.name} ({people.grid_name})")
        typer.echo(f"  open incidents:      {people.open_count}")
        typer.echo(f"  her work (phone):    {base}/signin  (lands on /maps/work)")
        typer.echo(f"  her grid on a phone: {base}/signin?next=/maps/grid/{grid}")
        if people.official is not None:
            typer.echo(f"official of {people.community}: {people.official.key}")
    typer.echo(f"sign in (browser):     {base}/signin?next=/maps/")
    typer.echo(f'API example:           curl -H "X-API-Key: {admin.key}" {base}/v1/me')
