"""GPX test files: a real-format export (``data/walk.gpx``) and a small writer."""

from __future__ import annotations

from pathlib import Path

WALK_GPX = Path(__file__).parent / "data" / "walk.gpx"


def gpx(points: list[tuple[float, float, str | None]], *, ele: float | None = 4.0) -> bytes:
    """A GPX 1.1 document with one track segment of ``(lon, lat, time)`` points."""
    rows = []
    for lon, lat, t in points:
        inner = (f"<ele>{ele}</ele>" if ele is not None else "") + (
            f"<time>{t}</time>" if t is not None else ""
        )
        rows.append(f'<trkpt lat="{lat}" lon="{lon}">{inner}</trkpt>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        "<trk><trkseg>" + "".join(rows) + "</trkseg></trk></gpx>"
    ).encode()
