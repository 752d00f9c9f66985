"""A deterministic demo street for wangge: boundaries, buildings, staff, facilities, defects.

``generate(out_dir, seed=2024)`` builds a fictional street modelled on Zhenru Town Street
(真如镇街道, Putuo District, Shanghai) and writes GeoJSON, CSV and JSON files plus an answer
key of deliberately planted coverage defects. The same seed gives byte-identical files.

Modules: ``names`` (name lists), ``geom`` (planar helpers), ``street`` (outline, roads,
parcels), ``hierarchy`` (communities, grids, micro-grids), ``buildings`` (footprints, blocks,
corridors), ``estate`` (placement and the snapped coverage), ``defects`` (planted defects),
``addresses`` (codes, addresses, households), ``people`` (staff, facilities), ``output``
(byte-stable writers), ``docs`` (README/DEFECTS text), ``generator`` (``generate``).
"""

from __future__ import annotations

from gis.demo.generator import DemoSummary, generate

__all__ = ["DemoSummary", "generate"]
