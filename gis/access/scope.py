"""The one place where what a caller may see is decided: the :class:`Scope` value.

A key is scoped to an area (its code; None for everywhere). The rules, written once here:

- **areas**: the scope's area and every area below it, in any generation (a scope holds across
  redrawn boundaries as long as the codes hang below it);
- **incidents**: those *owned* below the scope, by their stored ownership chain (``area_codes``,
  the snapshot taken when the incident was located), never by where their point lies; an
  integration key's scope also holds only the incidents it submitted itself;
- **buildings and facilities** (nothing in the hierarchy owns them): those meeting the scope
  area's boundary in the generation asked about;
- **the standard-address gazetteer**: public to every key allowed to geocode (see
  :attr:`Scope.gazetteer_is_public`); who owns an address is an area, so that part is scoped.

Every method returns a SQLAlchemy Core boolean clause (``true()`` when there is nothing to
limit), so a query adds ``.where(scope.incidents(INCIDENTS))`` and builds no scope SQL of its
own. Pages and tiles that still write SQL as text take the same clauses compiled to a fragment
with bound parameters (:meth:`Scope.text`). Something out of scope is absent: the callers put the
clause in the query that looks the object up, so an out-of-scope object and a missing one take
the same path and raise the same :class:`gis.errors.NotFound`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    null,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, array, psycopg2
from sqlalchemy.sql.expression import FromClause
from sqlalchemy.types import NullType

from gis.access.roles import Principal
from gis.store.models import AREAS, GENERATIONS, INCIDENTS

#: How deep a subtree may go (levels are strictly ordered: a longer chain would be a cycle).
MAX_DEPTH: Final = 16

Kind = Literal["areas", "incidents", "inside"]

#: a dialect that renders no casts after parameters (``:p::TEXT`` would not parse in ``text()``)
_DIALECT = psycopg2.dialect(paramstyle="named")  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Scope:
    """What a caller may see: areas at or below ``area`` (None: everywhere) and, for an
    integration key, only the incidents it submitted (``submitter``: its key id)."""

    area: str | None = None
    submitter: str | None = None

    #: The standard-address gazetteer (addresses and their points, the door-plate register)
    #: is public inside a deployment: any key that may geocode matches every address (so the
    #: geocoder takes no scope for matching). Who is responsible for an address is answered
    #: by the areas rule, so that part stays scoped. A decision, not a setting.
    gazetteer_is_public: ClassVar[bool] = True

    @classmethod
    def of(cls, principal: Principal) -> Scope:
        """The scope of ``principal`` (its key's area; an integration key's own submissions)."""
        submitter = principal.key_id if principal.role == "integration" else None
        return cls(area=principal.scope, submitter=submitter)

    @property
    def everywhere(self) -> bool:
        """Whether nothing is limited (an unscoped key that is not an integration key)."""
        return self.area is None and self.submitter is None

    # -- areas -----------------------------------------------------------------------------

    def area_codes(self) -> Select[Any]:
        """The codes of the scope's area and of every area below it, any generation (a
        recursive query; the scope's area alone when nothing hangs below it)."""
        root = bindparam("scope_area", self.area, type_=Text, unique=True)
        top = select(cast(root, Text).label("code"), literal_column("0").label("depth")).cte(
            recursive=True  # anonymous: a query may hold several scopes' subtrees
        )
        below = (
            select(AREAS.c.code, (top.c.depth + literal_column("1")).label("depth"))
            .join(top, AREAS.c.parent_code == top.c.code)
            .where(top.c.depth < literal_column(str(MAX_DEPTH)))
        )
        tree = top.union(below)
        return select(tree.c.code)

    def areas(self, table: FromClause = AREAS) -> ColumnElement[bool]:
        """Areas (rows of ``table``, any alias of ``areas``) at or below the scope."""
        if self.area is None:
            return true()
        return table.c.code.in_(self.area_codes())

    def holds_chain(self, chain_codes: Iterable[str]) -> bool:
        """Whether an area whose chain of codes (itself and its ancestors) is ``chain_codes``
        lies at or below the scope: the same rule as :meth:`areas`, for areas already in
        memory (the assignment index)."""
        return self.area is None or self.area in chain_codes

    # -- incidents -------------------------------------------------------------------------

    def incidents(self, table: FromClause = INCIDENTS) -> ColumnElement[bool]:
        """Incidents (rows of ``table``, any alias of ``incidents``) owned at or below the
        scope by their stored ownership chain, and, for an integration key, submitted by it.
        An incident without an owner is in no area's scope (only an unscoped key sees it)."""
        conditions: list[ColumnElement[bool]] = []
        if self.area is not None:
            area = bindparam("scope_area", self.area, type_=Text, unique=True)
            conditions.append(owned_below(table, area))
        if self.submitter is not None:
            conditions.append(
                table.c.submitted_by
                == bindparam("scope_submitter", self.submitter, type_=Text, unique=True)
            )
        return and_(true(), *conditions)

    def holds_incident(self, area_codes: Iterable[str] | None, submitted_by: str | None) -> bool:
        """The rule of :meth:`incidents` for a row already read (``area_codes``, the stored
        ownership chain, and ``submitted_by``)."""
        if self.area is not None and self.area not in (area_codes or ()):
            return False
        return self.submitter is None or self.submitter == submitted_by

    def incident_ref(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """A reference to another incident (``duplicate_of``) as this scope shows it: the id
        when that incident is in scope, else NULL, as if it did not exist."""
        if self.everywhere:
            return column
        other = INCIDENTS.alias("scope_ref")
        seen = exists(select(other.c.id).where(other.c.id == column, self.incidents(other)))
        # a CASE tests in order: most rows link nothing and skip the EXISTS
        return case((column.is_(None), null()), (seen, column), else_=null())

    def visible_incidents(self, conn: Connection, ids: Iterable[int | None]) -> set[int]:
        """Which of the incident ids ``ids`` this scope shows (one query; none for an
        unscoped key)."""
        wanted = {int(i) for i in ids if i is not None}
        if self.everywhere or not wanted:
            return wanted
        query = select(INCIDENTS.c.id).where(INCIDENTS.c.id.in_(wanted), self.incidents())
        return {int(i) for i in conn.execute(query).scalars()}

    # -- buildings, facilities, any geometry -----------------------------------------------

    def boundary(self, generation: int | None = None) -> ColumnElement[Any]:
        """The scope area's polygon in ``generation`` (None: the current one), as a scalar
        subquery."""
        if generation is None:
            current = (
                select(GENERATIONS.c.id)
                .where(GENERATIONS.c.state == literal_column("'current'"))
                .scalar_subquery()
            )
            valid: ColumnElement[bool] = AREAS.c.valid.contains(current)
        else:
            valid = AREAS.c.valid.contains(
                cast(bindparam("scope_generation", generation, unique=True), Integer)
            )
        return (
            # coerced: a geometry in a select list would be wrapped in ST_AsEWKB
            select(type_coerce(func.ST_Union(AREAS.c.geom), NullType()))
            .where(
                AREAS.c.code == bindparam("scope_area", self.area, type_=Text, unique=True), valid
            )
            .scalar_subquery()
        )

    def inside(
        self, geom: ColumnElement[Any], *, generation: int | None = None
    ) -> ColumnElement[bool]:
        """Geometries (buildings, facilities, or a point to be placed) meeting the scope
        area's boundary in ``generation`` (None: the current one)."""
        if self.area is None:
            return true()
        return func.ST_Intersects(geom, self.boundary(generation))

    # -- for SQL still written as text -----------------------------------------------------

    def text(
        self, kind: Kind, table: FromClause, *, generation: int | None = None
    ) -> tuple[str, dict[str, Any]]:
        """The clause of ``kind`` on ``table`` (an alias such as ``AREAS.alias("a")``, or a
        geometry column's table for ``inside``), compiled to a SQL fragment with named bound
        parameters, and those parameters: for queries written with ``text()``."""
        clause: ColumnElement[bool]
        if kind == "areas":
            clause = self.areas(table)
        elif kind == "incidents":
            clause = self.incidents(table)
        else:
            clause = self.inside(table.c.geom, generation=generation)
        return as_text(clause)


EVERYWHERE: Final = Scope()


def owned_below(incidents: FromClause, area_code: ColumnElement[Any]) -> ColumnElement[bool]:
    """Incidents (rows of ``incidents``) owned at or below the area whose code is
    ``area_code`` (a value or a column, e.g. to count an area's incidents): the incidents rule
    of :meth:`Scope.incidents`, by the stored ownership chain, never by the point."""
    return incidents.c.area_codes.contains(cast(array([area_code]), ARRAY(Text)))


def as_text(clause: ColumnElement[bool]) -> tuple[str, dict[str, Any]]:
    """``clause`` compiled to a SQL fragment with named bound parameters, and those
    parameters (for queries still written with ``text()``)."""
    compiled = clause.compile(dialect=_DIALECT)
    return str(compiled), dict(compiled.params)
