"""The registry of coverage checks by name, and :func:`run_coverage`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection

from gis.access import EVERYWHERE, Scope
from gis.coverage import buildings, hierarchy, incidents, patrols, people, services, spatial
from gis.coverage.context import Context, make_context
from gis.coverage.model import SEVERITIES, CoverageReport, Finding
from gis.coverage.thresholds import Thresholds, resolve_thresholds
from gis.errors import InvalidInput


@dataclass(frozen=True)
class Check:
    """A named check, the group it belongs to and the function that runs it."""

    name: str
    group: str
    run: Callable[[Context], list[Finding]]

    @property
    def description(self) -> str:
        return (self.run.__doc__ or "").split("\n\n")[0].replace("\n", " ")


CHECKS: Final[dict[str, Check]] = {
    c.name: c
    for c in (
        Check("gap", "spatial", spatial.check_gaps),
        Check("sliver", "spatial", spatial.check_slivers),
        Check("overlap", "spatial", spatial.check_overlaps),
        Check("duplicate", "spatial", spatial.check_duplicates),
        Check("outside_parent", "spatial", spatial.check_outside_parent),
        Check("degenerate", "spatial", spatial.check_degenerate),
        Check("undivided", "spatial", spatial.check_undivided),
        Check("orphan", "hierarchy", hierarchy.check_orphans),
        Check("staff_dangling", "hierarchy", hierarchy.check_staff_dangling),
        Check("building_outside", "buildings", buildings.check_building_outside),
        Check("building_split", "buildings", buildings.check_building_split),
        Check("address_area", "buildings", buildings.check_address_area),
        Check("no_leader", "people", people.check_no_leader),
        Check("no_full_time_member", "people", people.check_no_full_time_member),
        Check("no_building_leader", "people", people.check_no_building_leader),
        Check("households_per_member", "people", people.check_households_per_member),
        Check("service_reach", "services", services.check_service_reach),
        Check("overdue_incidents", "incidents", incidents.check_overdue_incidents),
        Check("resolution_rate", "incidents", incidents.check_resolution_rate),
        Check("unpatrolled", "patrols", patrols.check_unpatrolled),
    )
}
GROUPS: Final[tuple[str, ...]] = tuple(dict.fromkeys(c.group for c in CHECKS.values()))


def select_checks(names: Sequence[str] | str | None) -> list[Check]:
    """Checks named by check or group name (comma-separated text or a list), in registry
    order; all when None or empty. Raises InvalidInput naming ``checks``."""
    if names is None:
        return list(CHECKS.values())
    items = names.split(",") if isinstance(names, str) else list(names)
    wanted = {n.strip() for n in items if n.strip()}
    if not wanted:
        return list(CHECKS.values())
    unknown = sorted(wanted - set(CHECKS) - set(GROUPS))
    if unknown:
        raise InvalidInput(
            f"unknown check {', '.join(unknown)}; expected check names "
            f"({', '.join(CHECKS)}) or groups ({', '.join(GROUPS)})",
            field="checks",
        )
    return [c for c in CHECKS.values() if c.name in wanted or c.group in wanted]


def run_coverage(
    conn: Connection,
    *,
    area: str | None = None,
    checks: Sequence[str] | str | None = None,
    generation: int | None = None,
    thresholds: Mapping[str, Any] | Thresholds | None = None,
    scope: Scope = EVERYWHERE,
) -> CoverageReport:
    """Run the chosen checks (default all) on ``area`` and everything below it (default the
    whole generation; for a scoped caller, their scope's area) of ``generation`` (default
    current), as far as ``scope`` reaches, with ``thresholds`` overriding the defaults.
    Read-only. Raises InvalidInput / NotFound naming the field."""
    started = time.perf_counter()
    chosen = select_checks(checks)
    limits = thresholds if isinstance(thresholds, Thresholds) else resolve_thresholds(thresholds)
    ctx = make_context(conn, area=area, generation=generation, thresholds=limits, scope=scope)
    findings: list[Finding] = []
    seconds: dict[str, float] = {}
    for check in chosen:
        t0 = time.perf_counter()
        findings.extend(check.run(ctx))
        seconds[check.name] = round(time.perf_counter() - t0, 3)
    by_check = {c.name: 0 for c in chosen if c.name not in ctx.not_run}
    for f in findings:
        by_check[f.check] += 1
    summary: dict[str, Any] = {
        **{s: sum(f.severity == s for f in findings) for s in SEVERITIES},
        "by_check": by_check,
        "checks_run": [c.name for c in chosen if c.name not in ctx.not_run],
        "not_run": dict(ctx.not_run),
        "ignored": dict(ctx.ignored),
        "areas": len(ctx.ids),
        "seconds": round(time.perf_counter() - started, 3),
        "seconds_by_check": seconds,
    }
    return CoverageReport(
        ctx.generation, ctx.area, limits.model_dump(mode="json"), summary, findings
    )
