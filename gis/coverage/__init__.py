"""Coverage-gap checks: every place "no blind spots" breaks, measured, with who must act.

``run_coverage(conn, area=…, checks=…, generation=…, thresholds=…)`` runs the registered
checks (:data:`CHECKS`) and returns one :class:`CoverageReport` of :class:`Finding` rows.
"""

from gis.coverage.model import CoverageReport, Finding
from gis.coverage.registry import CHECKS, GROUPS, run_coverage, select_checks
from gis.coverage.thresholds import Thresholds, resolve_thresholds

__all__ = [
    "CHECKS",
    "GROUPS",
    "CoverageReport",
    "Finding",
    "Thresholds",
    "resolve_thresholds",
    "run_coverage",
    "select_checks",
]
