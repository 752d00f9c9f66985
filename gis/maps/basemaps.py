"""Basemaps and the datum their tiles are drawn in.

OpenStreetMap and Tianditu (天地图) tiles are WGS-84-compatible: overlays are drawn as stored.
Amap-style tiles (高德) are drawn in GCJ-02, the obfuscated datum Chinese web maps must use,
so on that basemap every overlay coordinate is shifted WGS-84 → GCJ-02 (400–600 m in
Shanghai) — otherwise grids sit half a kilometre off their streets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
import numpy as np
import numpy.typing as npt
import shapely

from gis.crs import wgs84_to_gcj02
from gis.errors import InvalidInput

BASEMAPS = ("osm", "tianditu", "gcj02")

_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk={key}"
)


def tile_origins(*, tianditu: bool) -> tuple[str, ...]:
    """The origins the basemaps' tiles load from (a page's Content-Security-Policy
    ``img-src``): OpenStreetMap, the Amap-style GCJ-02 tiles, and Tianditu when a key is
    configured."""
    origins = ("https://tile.openstreetmap.org", "https://*.is.autonavi.com")
    return (*origins, "https://*.tianditu.gov.cn") if tianditu else origins


@dataclass(frozen=True)
class Basemap:
    """A basemap choice: its tile layers and whether overlays must be shifted into GCJ-02."""

    name: str
    tianditu_key: str | None = None

    @property
    def datum(self) -> str:
        """``gcj02`` for Amap-style tiles, else ``wgs84``."""
        return "gcj02" if self.name == "gcj02" else "wgs84"

    def add_to(self, fmap: folium.Map) -> list[tuple[str, str]]:
        """Add the tile layer(s) to ``fmap``; return ``(label, js variable)`` of each."""
        layers: list[folium.TileLayer] = []
        if self.name == "osm":
            layers.append(folium.TileLayer("OpenStreetMap", name="OpenStreetMap"))
        elif self.name == "tianditu":
            key = self.tianditu_key or ""
            for layer, label in (("vec", "天地图"), ("cva", "天地图 注记")):
                layers.append(
                    folium.TileLayer(
                        tiles=_TIANDITU.replace("{layer}", layer).replace("{key}", key),
                        attr="© 天地图 Tianditu",
                        name=label,
                        subdomains="01234567",
                        overlay=layer == "cva",
                        max_zoom=18,
                    )
                )
        else:
            layers.append(
                folium.TileLayer(
                    tiles="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1"
                    "&scale=1&style=8&x={x}&y={y}&z={z}",
                    attr="© 高德地图 AutoNavi (GCJ-02)",
                    name="高德 (GCJ-02)",
                    subdomains="1234",
                    max_zoom=18,
                )
            )
        for tile_layer in layers:
            tile_layer.add_to(fmap)
        return [(layer.layer_name, layer.get_name()) for layer in layers[:1]]

    def shift(self, geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
        """Geometries (WGS-84) moved into the basemap's datum, rounded to 1e-7°."""

        def move(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            if self.datum == "gcj02" and len(xy):
                lon, lat = wgs84_to_gcj02(lon=xy[:, 0], lat=xy[:, 1])
                xy = np.column_stack([lon, lat])
            return np.round(xy, 7)

        out: npt.NDArray[np.object_] = shapely.transform(geoms, move)
        return out

    def shift_point(self, *, lon: float, lat: float) -> tuple[float, float]:
        """One point moved into the basemap's datum (lon, lat)."""
        if self.datum == "gcj02":
            x, y = wgs84_to_gcj02(lon=lon, lat=lat)
            return float(x), float(y)
        return lon, lat


def basemap(name: str, *, tianditu_key: str | None, field: str = "basemap") -> Basemap:
    """The basemap called ``name`` (osm, tianditu, gcj02); Tianditu needs a key."""
    if name not in BASEMAPS:
        raise InvalidInput(f"unknown basemap; expected one of {', '.join(BASEMAPS)}", field=field)
    if name == "tianditu" and not tianditu_key:
        raise InvalidInput(
            "天地图底图需要密钥：请管理员设置 WANGGE_TIANDITU_KEY；现在可改用 basemap=osm 或 "
            "basemap=gcj02 (the Tianditu basemap needs a key: set WANGGE_TIANDITU_KEY, or use "
            "basemap=osm or gcj02)",
            field=field,
        )
    return Basemap(name, tianditu_key)


def features_from_wkb(
    rows: Sequence[Any], basemap: Basemap, *, geom: str = "wkb"
) -> list[dict[str, Any]]:
    """GeoJSON features from rows with a WKB column ``geom`` (other columns: properties)."""
    if not rows:
        return []
    geoms = basemap.shift(shapely.from_wkb([bytes(getattr(r, geom)) for r in rows]))
    out = []
    for row, g in zip(rows, shapely.to_geojson(geoms), strict=True):
        props = {k: v for k, v in row._mapping.items() if k != geom}
        out.append({"type": "Feature", "geometry": json.loads(g), "properties": props})
    return out
