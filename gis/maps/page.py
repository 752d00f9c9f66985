"""A Folium page with wangge's vendored assets (no CDN) and safely embedded data.

Folium builds the map and the basemap; the overlays are drawn by ``static/wangge-maps.js``
from JSON embedded with ``<``, ``>`` and ``&`` escaped, so no name or description can close
the script tag, and every text is escaped again where it becomes HTML (``wg.esc``).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
from branca.element import Element, MacroElement
from jinja2 import Template

from gis.access import EVERYWHERE, Scope
from gis.maps.basemaps import Basemap

STATIC_DIR = Path(__file__).parent / "static"
CORE_JS = ("vendor/leaflet/leaflet.js", "wangge-maps.js")
CORE_CSS = ("vendor/leaflet/leaflet.css", "wangge-maps.css")
HEAT_JS = "vendor/leaflet.heat/leaflet-heat.js"
TILES_JS = "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"


def js_json(value: Any) -> str:
    """JSON safe to place inside a ``<script>`` element (no ``</script>``, no HTML)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _inline_css(path: Path) -> str:
    """CSS with its ``url(images/…)`` references turned into data URIs (for one-file pages)."""
    css = path.read_text()

    def data_uri(match: re.Match[str]) -> str:
        image = path.parent / match.group(1)
        encoded = base64.b64encode(image.read_bytes()).decode()
        mime = "image/svg+xml" if image.suffix == ".svg" else f"image/{image.suffix[1:]}"
        return f"url(data:{mime};base64,{encoded})"

    return re.sub(r"url\((images/[^)]+)\)", data_uri, css)


@dataclass(frozen=True)
class MapOptions:
    """How a page is built and where it gets its assets and data.

    ``static_url`` None inlines every asset and ``tiles_url`` None embeds every layer, so the
    page is one self-contained file (``wangge map``); served pages use both URLs.
    """

    basemap: Basemap
    generation: int
    static_url: str | None = None
    tiles_url: str | None = None
    inline_max: int = 2000
    geocode_url: str | None = None
    #: what the caller may see (their key's scope)
    scope: Scope = EVERYWHERE
    #: staff phone numbers masked (anonymous visitors of a public deployment)
    mask_staff_phones: bool = False
    #: incident points and their text (anonymous visitors of a public deployment: no)
    show_incidents: bool = True


class _Script(MacroElement):
    """Raw JavaScript emitted after the map is created (``{map}`` names the map variable)."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "WanggeScript"
        self.code = code


@dataclass
class Page:
    """A map page under construction: add layers as JavaScript calls, then ``render``."""

    title: str
    basemap: Basemap
    center: tuple[float, float] = (31.25, 121.40)  # lat, lon (Leaflet order)
    zoom: int = 14
    scripts: list[str] = field(default_factory=list)
    plugins: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def call(self, code: str) -> None:
        """Add a statement; ``{map}`` stands for the map variable."""
        self.scripts.append(code)

    def geojson(self, name: str, features: list[dict[str, Any]], options: dict[str, Any]) -> None:
        """Draw ``features`` (embedded) as the toggleable layer ``name``."""
        collection = {"type": "FeatureCollection", "features": features}
        self.call(
            f"wg.geojson({{map}}, {js_json(name)}, {js_json(collection)}, {js_json(options)});"
        )

    def tiles(self, name: str, url: str, layer: str, count: int, options: dict[str, Any]) -> None:
        """Draw the vector tiles at ``url`` (MVT layer ``layer``, ``count`` features)."""
        self.plugins.add(TILES_JS)
        self.call(
            f"wg.tiles({{map}}, {js_json(name)}, {js_json(url)}, {js_json(layer)}, {count}, "
            f"{js_json(options)});"
        )

    def render(self, *, static_url: str | None) -> str:
        """The page's HTML; assets from ``static_url`` (served) or inlined when None (a file)."""
        fmap = folium.Map(
            location=list(self.center),
            zoom_start=self.zoom,
            tiles=None,
            control_scale=True,
            prefer_canvas=False,
        )
        fmap.default_js = []
        fmap.default_css = []
        tiles = self.basemap.add_to(fmap)
        root: Any = fmap.get_root()
        root.title = self.title
        root.header.add_child(Element(self._assets(static_url)), name="wangge_assets")
        name = fmap.get_name()
        base = ", ".join(f"{js_json(label)}: {var}" for label, var in tiles)
        lines = [
            # a phone keeps the layer list folded behind its button, leaving the map visible
            f"wg.control = L.control.layers({{{base}}}, {{}}, "
            f"{{collapsed: window.innerWidth < 480}}).addTo({name});"
        ]
        lines += [s.replace("{map}", name) for s in self.scripts]
        if self.notes:
            lines.append(f"wg.banner({name}, {js_json(self.notes)});")
        lines.append("wg.done();")
        fmap.add_child(_Script("\n".join(lines)))
        html: str = root.render()
        return html

    def _assets(self, static_url: str | None) -> str:
        js = list(CORE_JS) + sorted(self.plugins)
        if static_url is None:
            css = "".join(f"<style>{_inline_css(STATIC_DIR / c)}</style>" for c in CORE_CSS)
            scripts = "".join(f"<script>{(STATIC_DIR / j).read_text()}</script>" for j in js)
        else:
            css = "".join(f'<link rel="stylesheet" href="{static_url}/{c}">' for c in CORE_CSS)
            scripts = "".join(f'<script src="{static_url}/{j}"></script>' for j in js)
        # no favicon request: it would be a 404 in every page's console
        viewport = (
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="icon" href="data:,">'
        )
        return viewport + css + scripts
