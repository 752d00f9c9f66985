"""``wangge map PAGE --out FILE.html``: a map page as one self-contained file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def map_command(
    page: Annotated[str, typer.Argument(help="overview, heat, coverage, grid or incident.")],
    out: Annotated[Path, typer.Option(help="HTML file to write.")],
    code: Annotated[str | None, typer.Option(help="grid: the micro-grid code.")] = None,
    incident: Annotated[str | None, typer.Option(help="incident: its id.")] = None,
    basemap: Annotated[str, typer.Option(help="osm, tianditu or gcj02.")] = "osm",
    generation: Annotated[int | None, typer.Option(help="Boundary generation.")] = None,
) -> None:
    """Write a map page as one HTML file with every asset and layer inside (works offline).

    \b
    wangge map overview --out overview.html
    wangge map grid --code 310107016007-G02-M02 --out grid.html --basemap gcj02
    """
    from gis.areas.generations import resolve_generation
    from gis.cli.common import engine, say
    from gis.heat.service import HeatQuery
    from gis.maps import pages
    from gis.maps.basemaps import basemap as pick
    from gis.maps.page import MapOptions
    from gis.settings import Settings

    settings = Settings()
    eng = engine(settings)
    try:
        with eng.connect() as conn:
            number = resolve_generation(conn, generation=generation, as_of=None)
            opts = MapOptions(pick(basemap, tianditu_key=settings.tianditu_key), number)
            if page == "overview":
                html = pages.overview(conn, opts)
            elif page == "heat":
                html = pages.heat(conn, opts, HeatQuery())
            elif page == "coverage":
                html = pages.coverage(conn, opts)
            elif page == "grid" and code:
                html = pages.grid(conn, opts, code)
            elif page == "incident" and incident:
                html = pages.incident(conn, opts, incident)
            else:
                raise typer.BadParameter(
                    "expected overview, heat, coverage, grid --code C or incident --incident ID",
                    param_hint="PAGE",
                )
    finally:
        eng.dispose()
    out.write_text(html, encoding="utf-8")
    say(f"{page} → {out} ({len(html.encode()) / 1e6:.2f} MB)")
