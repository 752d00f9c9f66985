"""Geocoding: a standard-address gazetteer (标准地址) and messy Chinese address matching.

``Gazetteer.load(conn).geocode("上海市普陀区兰溪路九十九弄12号门口")`` → the standard address
兰溪路99弄12号 with its WGS-84 point. Numbers must match exactly; only road names match
fuzzily (homophones, near-homophones, a missing 路). See :mod:`gis.geocode.gazetteer`.
"""

from gis.geocode.cache import GazetteerCache
from gis.geocode.gazetteer import Gazetteer, Record
from gis.geocode.normalize import normalize
from gis.geocode.results import Candidate, GeocodeResult

__all__ = ["Candidate", "Gazetteer", "GazetteerCache", "GeocodeResult", "Record", "normalize"]
