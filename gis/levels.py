"""The grid hierarchy's levels and the staff roles attached to them."""

from __future__ import annotations

from typing import Final

from gis.errors import InvalidInput

#: Levels from largest to smallest. A level may be skipped, never reordered.
LEVELS: Final[tuple[str, ...]] = (
    "district",
    "street",
    "community",
    "grid",
    "micro_grid",
    "block",
    "corridor",
)

#: Responsibilities a staff member can hold.
STAFF_ROLES: Final[tuple[str, ...]] = (
    "micro_grid_leader",
    "full_time_member",
    "part_time_member",
    "building_team_leader",
    "department_liaison",
)

#: Kinds of service facility (the 15-minute community life circle).
FACILITY_KINDS: Final[tuple[str, ...]] = (
    "elderly_care",
    "clinic",
    "school",
    "kindergarten",
    "community_centre",
    "market",
    "police",
    "fire_station",
    "park",
)


def depth(level: str) -> int:
    """0 for ``district`` … 6 for ``corridor``; raises InvalidInput for an unknown level."""
    try:
        return LEVELS.index(level)
    except ValueError:
        raise InvalidInput(
            f"unknown level {level!r}; expected one of {', '.join(LEVELS)}", field="level"
        ) from None


def check_level(level: str, *, field: str = "level") -> str:
    """Return ``level`` if it names a known level, else raise InvalidInput naming ``field``."""
    if level not in LEVELS:
        raise InvalidInput(
            f"unknown level {level!r}; expected one of {', '.join(LEVELS)}", field=field
        )
    return level
