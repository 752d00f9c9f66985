"""GPX parsing: a real-format export, and bad files refused whole naming the field."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from gis.errors import InvalidInput, PayloadTooLarge
from gis.patrols.gpx import parse_gpx
from tests.gis.patrols.gpx_files import WALK_GPX, gpx


def test_real_format_file() -> None:
    fixes = parse_gpx(WALK_GPX.read_bytes(), max_fixes=10_000)
    assert len(fixes) == 48  # two <trkseg> of 24 points each
    assert np.all(np.diff(fixes.t) > 0)
    assert np.isfinite(fixes.ele_m).all() and 3 < fixes.ele_m.mean() < 10
    assert np.isnan(fixes.accuracy_m).all()  # GPX has no accuracy (<hdop> is not one)
    assert fixes.lon.min() > 121.3 and fixes.lat.max() < 31.4


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b"this is not xml", "gpx", "not well-formed"),
        (b"", "gpx", "not well-formed"),
        (b"<kml><Document/></kml>", "gpx", "<kml>"),
        (gpx([(121.4, 31.25, None)]), "gpx.trkpt[0].time", "needs a <time>"),
        (gpx([(121.4, 31.25, "2026-12-01T08:00:00Z"), (121.4, 91.0, "2026-12-01T08:00:05Z")]),
         "gpx.trkpt[1].lat", "outside"),
        (gpx([(181.0, 31.25, "2026-12-01T08:00:00Z")]), "gpx.trkpt[0].lon", "outside"),
        (gpx([(121.4, 31.25, "yesterday")]), "gpx.trkpt[0].time", "ISO 8601"),
        (b'<gpx xmlns="http://www.topografix.com/GPX/1/1"><wpt lat="1" lon="2"/></gpx>',
         "gpx.trk", "no <trkpt>"),
        (b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaa">]><gpx>&a;</gpx>',
         "gpx", "DTDs and entities"),
    ],
)  # fmt: skip
def test_bad_gpx_names_the_field(body: bytes, field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_gpx(body, max_fixes=1000)
    assert caught.value.field == field
    assert words in caught.value.reason


class Stream:
    """A 2,000,000-point GPX read lazily (never held in memory whole)."""

    def __init__(self, points: int) -> None:
        self.chunks = self._chunks(points)
        self.buffer = b""
        self.served = 0

    def _chunks(self, points: int) -> Iterator[bytes]:
        yield b'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        for k in range(0, points, 1000):
            yield b"".join(
                b'<trkpt lat="31.25" lon="121.40"><time>2026-12-01T08:%02d:%02dZ</time></trkpt>'
                % ((n // 60) % 60, n % 60)
                for n in range(k, k + 1000)
            )
        yield b"</trkseg></trk></gpx>"

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            try:
                self.buffer += next(self.chunks)
            except StopIteration:
                break
        out, self.buffer = (self.buffer, b"") if size < 0 else (
            self.buffer[:size], self.buffer[size:])  # fmt: skip
        self.served += len(out)
        return out


def test_two_million_points_refused_before_the_end() -> None:
    stream = Stream(2_000_000)
    with pytest.raises(PayloadTooLarge) as caught:
        parse_gpx(stream, max_fixes=200_000)  # type: ignore[arg-type]
    assert caught.value.field == "gpx.trkpt"
    assert "200,000" in caught.value.reason
    assert stream.served < 40_000_000  # stopped at the limit, not after reading 150 MB
