"""Loading the demo street's files (data/boundaries) into the database, idempotently."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine

from gis.areas.generations import activate, current_generation
from gis.areas.importer import import_areas
from gis.areas.reading import AreaFile, read_area_file
from gis.demo.generator import AREA_FILES
from gis.registers import count_rows, import_buildings, import_facilities, import_staff


def read_demo_levels(folder: Path) -> list[tuple[str, AreaFile]]:
    """Every demo boundary file, validated, in hierarchy order."""
    return [
        (
            level,
            read_area_file(
                folder / name, code_field="code", name_field="name", parent_field="parent_code"
            ),
        )
        for level, name in AREA_FILES
    ]


def load_demo(
    conn: Connection, folder: Path, progress: Callable[[str], None] = lambda _: None
) -> list[str]:
    """Import the demo boundaries as one generation (activated) and the registers.

    Skips the boundaries when the current generation already holds them unchanged.
    Returns summary lines.
    """
    files = read_demo_levels(folder)
    current = current_generation(conn)
    needed = current is None or any(
        r.added or r.changed or r.removed
        for r in (import_areas(conn, f, level=level, dry_run=True) for level, f in files)
    )
    lines = []
    if needed:
        for level, source in files:
            progress(f"importing {source.path.name} ({len(source.features)} {level})")
            import_areas(conn, source, level=level, description="demo street")
        number = activate(conn)
        lines.append(f"boundaries: generation {number} activated")
    else:
        lines.append(f"boundaries: already loaded (generation {current})")
    for kind, func, name in (
        ("buildings", import_buildings, "buildings.geojson"),
        ("facilities", import_facilities, "facilities.geojson"),
    ):
        progress(f"importing {name}")
        report = func(conn, folder / name)
        lines.append(
            f"{kind}: {len(report.added)} added, {len(report.changed)} changed, "
            f"{len(report.unchanged)} unchanged"
        )
    # geocoding: the buildings' addresses (兰溪路99弄12号) are the demo gazetteer
    from gis.geocode.store import import_addresses

    progress("importing addresses from buildings.geojson")
    addresses = import_addresses(
        conn,
        folder / "buildings.geojson",
        address_field="address",
        building_field="code",
        code_field="code",
    )
    lines.append(
        f"addresses: {len(addresses.added)} added, {len(addresses.changed)} changed, "
        f"{len(addresses.unchanged)} unchanged"
    )
    progress("importing staff.csv")
    report = import_staff(conn, folder / "staff.csv")
    lines.append(
        f"staff: {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.unchanged)} unchanged"
    )
    counts = count_rows(conn)
    lines.append("totals: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    for level, source in files:
        lines.append(f"  {level}: {len(source.features)}")
    return lines


def load_demo_history(
    engine: Engine, progress: Callable[[str], None] = lambda _: None
) -> list[str]:
    """The demo street's 90-day incident history (after the boundaries are committed, since
    intake assigns through the per-process index that reads committed data)."""
    from gis.incidents.demo import load_demo_incidents

    return load_demo_incidents(engine, progress).lines()
