"""``wangge import addresses`` and ``wangge geocode|reverse``: the standard-address gazetteer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gis.cli.common import engine, print_json, say, transaction
from gis.cli.data_commands import AsJson, CrsOption, DryRun, Replace, _print_report


def import_addresses(
    file: Annotated[
        Path,
        typer.Argument(help="GeoJSON/GeoPackage of points or polygons, or CSV with lon/lat."),
    ],
    address_field: Annotated[str, typer.Option(help="Column with the address text.")],
    district_field: Annotated[
        str | None, typer.Option(help="Column with the district (普陀区), to scope matching.")
    ] = None,
    building_field: Annotated[
        str | None, typer.Option(help="Column with the code of the building at the address.")
    ] = None,
    code_field: Annotated[
        str | None,
        typer.Option(help="Column with a stable code (default: district/address)."),
    ] = None,
    lon_field: Annotated[str, typer.Option(help="CSV column with longitudes.")] = "lon",
    lat_field: Annotated[str, typer.Option(help="CSV column with latitudes.")] = "lat",
    crs: CrsOption = None,
    replace: Replace = False,
    dry_run: DryRun = False,
    as_json: AsJson = False,
) -> None:
    """Import standard addresses (标准地址) for geocoding, all or nothing, upserting by code.

    Every feature is checked first (address present, code unique, a point or polygon); any
    problem rejects the whole file, naming feature and field. A polygon is stored as its
    representative point. Example:

    \b
    wangge import addresses ../shared/data/shanghai_covid2022_case_addresses_wgs84.geojson \\
        --address-field address --district-field district --dry-run
    """
    from gis.geocode.store import import_addresses as run

    audit = None if dry_run else "import.addresses"
    with transaction(audit=audit, target=str(file)) as conn:
        report = run(
            conn,
            file,
            address_field=address_field,
            district_field=district_field,
            building_field=building_field,
            code_field=code_field,
            crs=crs,
            lon_field=lon_field,
            lat_field=lat_field,
            replace=replace,
            dry_run=dry_run,
        )
    _print_report(report, as_json=as_json, title=f"{file} → addresses")


def geocode(
    addresses: Annotated[list[str], typer.Argument(help="One or more addresses.")],
    district: Annotated[
        str | None, typer.Option(help="Only match within this district (普陀区 or 普陀).")
    ] = None,
) -> None:
    """Geocode addresses against the gazetteer; JSON with the standard address, WGS-84
    point, score, needs_review, candidates and the owning micro-grid. Example:

    \b
    wangge geocode "上海市普陀区兰溪路九十九弄12号门口" "杏山路四十九弄一号"
    """
    from gis.assign.service import Assigner
    from gis.geocode.cache import GazetteerCache
    from gis.geocode.service import geocode_texts

    eng = engine()
    try:
        results = geocode_texts(GazetteerCache(eng), Assigner(eng), addresses, district)
    finally:
        eng.dispose()
    print_json(results)
    review = sum(1 for r in results if r["needs_review"])
    if review:
        say(f"{review} of {len(results)} need review")


def reverse(
    lon: Annotated[float, typer.Option(help="Longitude (or x of an EPSG crs).")],
    lat: Annotated[float, typer.Option(help="Latitude (or y).")],
    crs: Annotated[str, typer.Option(help="wgs84, gcj02, bd09 or EPSG:n.")] = "wgs84",
    limit: Annotated[
        int, typer.Option(min=1, max=20, help="How many nearest addresses (1..20).")
    ] = 1,
) -> None:
    """The standard addresses nearest a point, with distances in metres, and the areas
    owning the point. Example:

    \b
    wangge reverse --lon 121.3987 --lat 31.2466
    """
    from gis.assign.service import Assigner
    from gis.geocode.cache import GazetteerCache
    from gis.geocode.service import reverse_geocode

    eng = engine()
    try:
        result = reverse_geocode(
            GazetteerCache(eng), Assigner(eng), lon=lon, lat=lat, crs=crs, limit=limit
        )
    finally:
        eng.dispose()
    print_json(result)


def register(app: typer.Typer, importer: typer.Typer) -> None:
    """Add ``import addresses``, ``geocode`` and ``reverse`` to the CLI."""
    importer.command("addresses")(import_addresses)
    app.command("geocode")(geocode)
    app.command("reverse")(reverse)
