"""``wangge coverage``: every coverage check on the database, as a table, JSON or GeoJSON."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from gis.errors import InvalidInput


class Format(StrEnum):
    table = "table"
    json = "json"
    geojson = "geojson"


def _overrides(pairs: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs; VALUE is read as JSON when it parses, else as text."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"expected NAME=VALUE, got {pair!r}", field="--set")
        try:
            out[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[name.strip()] = value
    return out


def _table(report: Any) -> None:
    rows = [
        (
            f.severity,
            f.check,
            f.area_code or "-",
            ",".join(f.other_codes) or "-",
            f.building_code or "-",
            f"{f.measure:g} {f.unit}",
            f.message,
        )
        for f in report.findings
    ]
    header = ("severity", "check", "area", "others", "building", "measure", "message")
    widths = [max([len(header[i])] + [len(r[i]) for r in rows]) for i in range(6)]
    for row in [header, *rows]:
        cells = [row[i].ljust(widths[i]) for i in range(6)]
        typer.echo("  ".join([*cells, row[6]]))


def coverage(
    area: Annotated[
        str | None, typer.Option(help="Check this area and everything below it (default all).")
    ] = None,
    checks: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated checks or groups (spatial, hierarchy, buildings, "
            "people, services, incidents); default all."
        ),
    ] = None,
    generation: Annotated[
        int | None, typer.Option(help="Boundary generation (default current).", min=1)
    ] = None,
    output: Annotated[
        Format, typer.Option("--format", help="table for people, json or geojson for machines.")
    ] = Format.table,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a threshold, NAME=VALUE (repeatable; JSON values)."),
    ] = None,
) -> None:
    """Find every coverage gap: land of no grid, grids claiming the same land, buildings in no
    or two micro-grids, missing staff, households out of reach of services, overdue
    incidents. Exits 1 when a finding of severity `error` exists (a data-pipeline gate), 0
    otherwise, 2 on bad input.

    \b
    wangge coverage
    wangge coverage --area 310107016010 --checks spatial,buildings --format json
    wangge coverage --format geojson --set gap_min_m2=50 > findings.geojson
    """
    from gis.cli.common import connection, print_json, say
    from gis.coverage import CHECKS, run_coverage
    from gis.settings import Settings

    settings = Settings()
    thresholds = {**settings.coverage_thresholds, **_overrides(overrides or [])}
    with connection(settings) as conn:
        report = run_coverage(
            conn, area=area, checks=checks, generation=generation, thresholds=thresholds
        )
    if output is Format.json:
        print_json(report.as_dict())
    elif output is Format.geojson:
        print_json(report.as_geojson())
    else:
        _table(report)
    s = report.summary
    say(
        f"generation {report.generation}, {s['areas']} areas, {len(s['checks_run'])} of "
        f"{len(CHECKS)} checks: {s['error']} errors, {s['warning']} warnings, {s['info']} info "
        f"({s['seconds']:.1f} s)"
    )
    for name, reason in s["not_run"].items():
        say(f"  not run: {name}: {reason}")
    if report.has_errors:
        sys.exit(1)
