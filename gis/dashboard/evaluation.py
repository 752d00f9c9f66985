"""Evaluation (考核): a composite index (综合指标值) per area, department or staff member.

The index, 0–100, is a weighted sum of four scores, each 0–1, over the incidents reported in
the period (weights from ``Settings.evaluation_*``, see :class:`Weights`)::

    综合指标值 = 100 × (w₁·结案率 + w₂·按期结案率 + w₃·派遣时效 + w₄·(1 − 超期率)) / (w₁+w₂+w₃+w₄)

- 结案率 (resolution rate) = resolved / reported;
- 按期结案率 (on-time rate) = resolved by the due time / resolved (0 when none resolved);
- 派遣时效 (assignment timeliness) = min(1, target / median time to assignment), 1 when the
  median is within the target (the field notes' 5 minutes), 0 when nothing was assigned;
- 超期率 (overdue rate) = overdue (late at the time of the call) / reported.

Rows are ranked by the index (highest first, ties by key). Every figure comes from
``gis.incidents.stats`` over the same filters, so it can be recomputed from the incidents
export (the tests do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from gis.coverage.thresholds import Thresholds
from gis.errors import InvalidInput, NotFound
from gis.incidents.query import Filters
from gis.incidents.stats import direct_stats, stats
from gis.labels import SUBJECT_NAMES, name_of
from gis.levels import LEVELS
from gis.patrols.coverage import patrol_figures
from gis.store.models import AREAS, STAFF

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: what can be evaluated: an area level, the departments, the staff members
SUBJECTS = (*LEVELS, "department", "staff")


@dataclass(frozen=True)
class Weights:
    """The weights of the four scores and the assignment target (seconds)."""

    resolution: float = 0.3
    on_time: float = 0.3
    assignment: float = 0.2
    overdue: float = 0.2
    assign_target_s: float = 300.0

    def formula(self) -> str:
        """The formula with these weights, as printed on the page and in the sheets."""
        total = self.resolution + self.on_time + self.assignment + self.overdue
        norm = "" if abs(total - 1) < 1e-9 else f" / {total:g}"
        return (
            f"综合指标值 = 100 × ({self.resolution:g}×结案率 + {self.on_time:g}×按期结案率 + "
            f"{self.assignment:g}×派遣时效 + {self.overdue:g}×(1 − 超期率)){norm}；"
            f"结案率 = 已办结 / 上报；按期结案率 = 按期办结 / 已办结；"
            f"派遣时效 = min(1, {self.assign_target_s:g}秒 / 派遣用时中位数)（无派遣为0）；"
            f"超期率 = 超期 / 上报"
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "resolution": self.resolution,
            "on_time": self.on_time,
            "assignment": self.assignment,
            "overdue": self.overdue,
            "assign_target_s": self.assign_target_s,
        }


def scores(figures: dict[str, Any], weights: Weights) -> dict[str, float]:
    """The four scores and the index of one group's figures (``stats`` figures)."""
    n = figures["count"]
    resolved = figures["resolved"]
    resolution = resolved / n if n else 0.0
    on_time = figures["on_time"] / resolved if resolved else 0.0
    median = figures["assign_median_s"]
    if median is None:
        assignment = 0.0
    elif median <= weights.assign_target_s:
        assignment = 1.0
    else:
        assignment = weights.assign_target_s / median
    overdue_rate = figures["overdue"] / n if n else 0.0
    total = weights.resolution + weights.on_time + weights.assignment + weights.overdue
    index = (
        100
        * (
            weights.resolution * resolution
            + weights.on_time * on_time
            + weights.assignment * assignment
            + weights.overdue * (1 - overdue_rate)
        )
        / total
    )
    return {
        "resolution_rate": round(resolution, 4),
        "on_time_rate": round(on_time, 4),
        "assignment_score": round(assignment, 4),
        "overdue_rate": round(overdue_rate, 4),
        "index": round(index, 2),
    }


def _names(conn: Connection, subject: str, keys: list[str]) -> dict[str, str]:
    if subject == "staff":
        q = select(STAFF.c.code, STAFF.c.name).where(STAFF.c.code.in_(keys))
        return {r.code: r.name for r in conn.execute(q)}
    if subject == "department":
        return {k: k for k in keys}
    q = (
        select(AREAS.c.code, func.max(AREAS.c.name).label("name"))
        .where(AREAS.c.code.in_(keys))
        .group_by(AREAS.c.code)
    )
    return {r.code: r.name or r.code for r in conn.execute(q)}


def evaluate(
    conn: Connection,
    filters: Filters,
    *,
    subject: str,
    weights: Weights,
    timezone: str = "Asia/Shanghai",
    now: datetime | None = None,
    thresholds: Thresholds | None = None,
) -> dict[str, Any]:
    """The index per ``subject`` (an area level, ``department`` or ``staff``: each incident
    counts for every staff member its owning grid had) over the incidents matching
    ``filters`` (incidents without such a key are left out). Rows: key, name, figures,
    scores, rank. With ``thresholds``, an area's row also carries its patrol figures (巡查覆盖,
    shown beside the index, not part of it): ``patrol_visited_share`` of its buildings
    visited in the period, ``patrols`` and ``patrol_distance_km``."""
    if subject not in SUBJECTS:
        raise InvalidInput(f"must be one of {', '.join(SUBJECTS)}", field="by")
    now = now or datetime.now(UTC)
    if subject == "staff":
        result = direct_stats(conn, filters, group_by="staff", timezone=timezone, now=now)
    else:
        result = stats(conn, filters, group_by=subject, timezone=timezone, now=now)
    groups = [g for g in result["groups"] if g["key"] is not None]
    names = _names(conn, subject, [g["key"] for g in groups])
    rows = []
    for g in groups:
        rows.append(
            {
                "key": g["key"],
                "name": names.get(g["key"], g["key"]),
                "count": g["count"],
                "resolved": g["resolved"],
                "on_time": g["on_time"],
                "overdue": g["overdue"],
                "assign_median_s": g["assign_median_s"],
                **scores(g, weights),
            }
        )
    if thresholds is not None and subject in LEVELS:
        _add_patrols(conn, rows, filters, subject, thresholds, now)
    rows.sort(key=lambda r: (-r["index"], r["key"]))
    for i, r in enumerate(rows, start=1):
        r["rank"] = i
    return {
        "by": subject,
        "period": {
            "from": None if filters.start is None else filters.start.isoformat(),
            "to": None if filters.end is None else filters.end.isoformat(),
        },
        "formula": weights.formula(),
        "weights": weights.as_dict(),
        "rows": rows,
        "total": result["total"],
    }


def _add_patrols(
    conn: Connection,
    rows: list[dict[str, Any]],
    filters: Filters,
    level: str,
    thresholds: Thresholds,
    now: datetime,
) -> None:
    try:
        figures = patrol_figures(
            conn,
            area=filters.area,
            # the incidents' own period: an open end is open for the patrols too
            start=filters.start or EPOCH,
            end=filters.end or now,
            thresholds=thresholds,
            scope=filters.scope,
            level=level,
        )
    except NotFound:  # an area with no boundary (as the incidents' own figures: no rows)
        figures = {}
    for r in rows:
        f = figures.get(r["key"])
        r["patrol_visited_share"] = None if f is None else f["visited_share"]
        r["patrols"] = 0 if f is None else f["patrols"]
        r["patrol_distance_km"] = 0.0 if f is None else round(f["distance_m"] / 1000, 1)


def weights_from(settings: Any) -> Weights:
    """The weights configured in ``settings`` (``WANGGE_EVALUATION_*``)."""
    return Weights(
        resolution=settings.evaluation_weight_resolution,
        on_time=settings.evaluation_weight_on_time,
        assignment=settings.evaluation_weight_assignment,
        overdue=settings.evaluation_weight_overdue,
        assign_target_s=settings.evaluation_assign_target_s,
    )


#: the columns of the evaluation sheets, with their Chinese headings
SHEET_COLUMNS = (
    ("rank", "排名"),
    ("key", "编码"),
    ("name", "名称"),
    ("count", "上报"),
    ("resolved", "办结"),
    ("on_time", "按期办结"),
    ("overdue", "超期"),
    ("assign_median_s", "派遣用时中位数(秒)"),
    ("resolution_rate", "结案率"),
    ("on_time_rate", "按期结案率"),
    ("assignment_score", "派遣时效"),
    ("overdue_rate", "超期率"),
    ("index", "综合指标值"),
    ("patrol_visited_share", "巡查覆盖率"),
    ("patrols", "巡查次数"),
)


def sheet_rows(result: dict[str, Any], *, period_text: str) -> list[list[Any]]:
    """The evaluation as rows for a sheet: title lines (subject, period, formula), a blank
    line, the heading, then one row per subject; text cells escaped against formulas."""
    from gis.incidents.copy_export import escape_formula

    subject = name_of(SUBJECT_NAMES, result["by"])
    head: list[list[Any]] = [
        ["考核对象", subject],
        ["统计周期", period_text],
        ["计算公式", result["formula"]],
        [],
        [name for _, name in SHEET_COLUMNS],
    ]
    for r in result["rows"]:
        head.append(
            [
                escape_formula(v) if isinstance(v, str) else ("" if v is None else v)
                for v in (r.get(k) for k, _ in SHEET_COLUMNS)
            ]
        )
    return head
