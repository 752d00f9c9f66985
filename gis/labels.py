"""What people read: the Chinese name of every code a page shows, and times in local time.

One table per kind of code (incident states, sources, levels, staff roles, facility kinds,
event kinds); the codes themselves come from their owners (``gis.store.models``,
``gis.levels``), and a test checks that every code has a name. Category names are data (the
``incident_categories`` table), not here. Pages, exports for people and templates take their
labels from this module only; the API keeps the codes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from gis.levels import FACILITY_KINDS, LEVELS, STAFF_ROLES
from gis.store.models import INCIDENT_SOURCES, INCIDENT_STATES

#: incident state -> its name on a page (the names Chinese grid platforms use)
STATE_NAMES: Final[dict[str, str]] = {
    "reported": "待派遣",
    "assigned": "已派遣",
    "in_progress": "处置中",
    "resolved": "已办结",
    "closed": "已结案",
    "returned": "已回退",
    "reopened": "重新处置",
    "suspended": "挂账",
    "extended": "延期处置",
}

#: target state of a transition -> the verb on its button
ACTION_NAMES: Final[dict[str, str]] = {
    "assigned": "接单",
    "in_progress": "开始处置",
    "resolved": "办结",
    "closed": "结案",
    "returned": "回退",
    "reopened": "重新处置",
    "suspended": "挂账",
    "extended": "申请延期",
}

SOURCE_NAMES: Final[dict[str, str]] = {
    "hotline": "12345热线",
    "app": "居民上报",
    "patrol": "网格巡查",
    "camera": "智能摄像头",
    "other": "其他",
}

LEVEL_NAMES: Final[dict[str, str]] = {
    "district": "区",
    "street": "街道",
    "community": "社区",
    "grid": "网格",
    "micro_grid": "微网格",
    "block": "责任块",
    "corridor": "楼道",
}

STAFF_ROLE_NAMES: Final[dict[str, str]] = {
    "micro_grid_leader": "微网格长",
    "full_time_member": "专职网格员",
    "part_time_member": "兼职网格员",
    "building_team_leader": "楼组长",
    "department_liaison": "职能部门联络员",
}

FACILITY_KIND_NAMES: Final[dict[str, str]] = {
    "elderly_care": "养老服务",
    "clinic": "卫生服务站",
    "school": "学校",
    "kindergarten": "幼儿园",
    "community_centre": "社区服务中心",
    "market": "菜市场",
    "police": "警务站",
    "fire_station": "消防站",
    "park": "公园",
}

#: incident event kind -> its name in a timeline (a state change reads "from → to")
EVENT_NAMES: Final[dict[str, str]] = {
    "reported": "上报",
    "transition": "状态变更",
    "duplicate_linked": "合并为重复事件",
    "reassigned": "重新派遣",
    "relocated": "位置更正",
    "stable": "位置核实",
}

#: coverage check code -> its name on a page (the API keeps the English ``check`` codes)
CHECK_NAMES: Final[dict[str, str]] = {
    "gap": "覆盖缺口",
    "sliver": "碎片面",
    "overlap": "同级重叠",
    "duplicate": "重复区域",
    "outside_parent": "超出上级边界",
    "degenerate": "无效几何",
    "undivided": "未划分下级",
    "orphan": "上级缺失",
    "staff_dangling": "人员挂靠无效",
    "building_outside": "楼栋未入网格",
    "building_split": "楼栋跨网格",
    "address_area": "地址与网格不符",
    "no_leader": "缺微网格长",
    "no_full_time_member": "缺专职网格员",
    "no_building_leader": "缺楼组长",
    "households_per_member": "人均服务户数过多",
    "service_reach": "服务设施覆盖不足",
    "overdue_incidents": "超期事件",
    "resolution_rate": "结案率偏低",
    "unpatrolled": "楼栋久未巡查",
}

SEVERITY_NAMES: Final[dict[str, str]] = {"error": "错误", "warning": "警告", "info": "提示"}


def measure_zh(measure: float | None, unit: str) -> str:
    """A finding's measure for people: ``60 平方米``, ``35%``, ``每人 420 户``, ``3 人``."""
    if measure is None:
        return ""
    if unit == "m2":
        return f"{measure:,.0f} 平方米" if measure >= 1 else f"{measure:.2f} 平方米"
    if unit == "share":
        return f"{measure:.0%}"
    if unit == "households/member":
        return f"每名网格员 {measure:,.0f} 户"
    counted = {"staff": "人", "areas": "个区域", "buildings": "栋", "incidents": "件", "days": "天"}
    return f"{measure:,.0f} {counted.get(unit, unit)}"


def finding_message_zh(check: str, area_name: str, measure: float | None, unit: str) -> str:
    """A coverage finding's message in Chinese: what, where, how much."""
    where = f"（{area_name}）" if area_name else ""
    amount = measure_zh(measure, unit)
    return f"{name_of(CHECK_NAMES, check)}{where}" + (f"：{amount}" if amount else "")


#: what the evaluation (考核) ranks: an area level, the departments or the staff
SUBJECT_NAMES: Final[dict[str, str]] = {
    **LEVEL_NAMES,
    "department": "职能部门",
    "staff": "网格人员",
}

#: every table above with the codes it must name (checked by tests/gis/test_labels.py)
TABLES: Final[tuple[tuple[dict[str, str], tuple[str, ...]], ...]] = (
    (STATE_NAMES, INCIDENT_STATES),
    (SOURCE_NAMES, INCIDENT_SOURCES),
    (LEVEL_NAMES, LEVELS),
    (STAFF_ROLE_NAMES, STAFF_ROLES),
    (FACILITY_KIND_NAMES, FACILITY_KINDS),
)


def name_of(table: dict[str, str], code: str | None) -> str:
    """The name of ``code`` in ``table``; the code itself if it has none, "" for None."""
    if code is None:
        return ""
    return table.get(code, code)


def local_time(at: datetime | str | None, timezone: str) -> str:
    """``at`` in ``timezone`` to the minute (``2026-12-07 14:05``); "" for None.

    Accepts an aware datetime or an ISO 8601 string (as the API answers carry); a naive
    datetime is taken as UTC."""
    if at is None or at == "":
        return ""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def duration_zh(seconds: float) -> str:
    """A span for people: ``3天4小时``, ``2小时5分钟``, ``12分钟`` (sign ignored)."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{mins}分钟" if mins else f"{hours}小时"
    return f"{mins}分钟"
