"""OGC API – Features Part 3 filters: CQL2 text or JSON, parsed by pygeofilter and
translated to SQLAlchemy Core conditions on a feature source (values always bound
parameters, property names looked up among the source's own properties: nothing of the
filter is ever pasted into SQL).

Supported: comparisons (``= <> < <= > >=``), ``LIKE`` (and ``CASEI``-free ``ILIKE`` via
pygeofilter's ``nocase``), ``IN``, ``BETWEEN``, ``IS NULL``, ``AND``/``OR``/``NOT``;
timestamps and dates compared with the time properties, ``T_BEFORE``/``T_AFTER``/
``T_EQUALS``/``T_INTERSECTS``/``T_DURING`` on an instant or an interval; ``S_INTERSECTS``
(and ``BBOX``) of the geometry with a GeoJSON/WKT geometry or an envelope, in CRS84.
Anything else answers InvalidInput naming ``filter``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any, Final

from pygeofilter import ast, values
from sqlalchemy import ColumnElement, and_, func, literal, not_, or_

from gis.errors import InvalidInput
from gis.features.source import Prop, Source

LANGS: Final = ("cql2-text", "cql2-json", "cql-text")
MAX_FILTER_LENGTH: Final = 20_000
MAX_DEPTH: Final = 50
GEOMETRY_NAMES: Final = ("geometry", "geom")
_TYPES: Final[dict[str, type | tuple[type, ...]]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


def filterable(source: Source) -> dict[str, Prop]:
    """The properties a filter may name: the queryables and the time properties."""
    return {p.name: p for p in source.props if p.queryable or p.format == "date-time"}


def parse_filter(text: str, lang: str | None) -> ast.Node:
    """The AST of ``text`` in ``lang`` (default cql2-text); InvalidInput naming ``filter``."""
    lang = lang or "cql2-text"  # "cql-text", the Part 3 draft's name GDAL sends, reads the same
    if lang not in LANGS:
        raise InvalidInput(f"must be one of {', '.join(LANGS)}", field="filter-lang")
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidInput(f"at most {MAX_FILTER_LENGTH} characters", field="filter")
    try:
        if lang == "cql2-json":
            from pygeofilter.parsers.cql2_json import parse as parse_json

            return parse_json(json.loads(text))
        return _text_parser().parse(text)
    except InvalidInput:
        raise
    except Exception as exc:  # the parsers raise lark's and their own errors, untyped
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"not valid {lang}: {reason[:300]}", field="filter") from None


# pygeofilter's CQL2 text grammar gives AND and OR one precedence (``a OR b AND c`` would
# read ``(a OR b) AND c``) and knows temporal predicates only infix (``t T_BEFORE x``):
# its grammar with AND binding tighter, as CQL2 has it, and the function form added;
_CONDITION = """?condition: condition_1
          | condition "AND"i condition_1                                 -> and_
          | condition "OR"i condition_1                                   -> or_
"""
_FIXED = """?condition: or_condition
?or_condition: and_condition
             | or_condition "OR"i and_condition                          -> or_
?and_condition: condition_1
              | and_condition "AND"i condition_1                         -> and_
"""
_TEMPORAL = "?temporal_predicate: expression _binary_temporal_predicate_func expression "
_TEMPORAL_FN = (
    '?temporal_predicate: _binary_temporal_predicate_func "(" expression "," expression ")" '
    "-> temporal_function\n    | expression _binary_temporal_predicate_func expression "
)

# and its NOT takes a parenthesised predicate, not a parenthesised condition
_NOT = '"NOT"i "(" predicate ")"'
_NOT_ANY = '"NOT"i "(" condition ")"'


@cache
def _text_parser() -> Any:
    """The CQL2 text parser (built on first use: nothing happens at import)."""
    from lark import Lark, v_args
    from pygeofilter.parsers import cql2_text
    from pygeofilter.parsers.cql2_text.parser import CQLTransformer

    folder = Path(cql2_text.__file__).parent
    grammar = (folder / "grammar.lark").read_text(encoding="utf-8")
    if any(part not in grammar for part in (_CONDITION, _TEMPORAL, _NOT)):
        raise RuntimeError("pygeofilter's CQL2 grammar changed: review gis/features/cql.py")
    grammar = grammar.replace(_CONDITION, _FIXED).replace(_TEMPORAL, _TEMPORAL_FN)
    grammar = grammar.replace(_NOT, _NOT_ANY)

    @v_args(meta=False, inline=True)
    class Transformer(CQLTransformer):  # type: ignore[misc]
        def temporal_function(self, op: Any, lhs: Any, rhs: Any) -> Any:
            return self.binary_temporal_predicate(lhs, op, rhs)

    return Lark(
        grammar,
        parser="lalr",
        maybe_placeholders=False,
        transformer=Transformer(),
        import_paths=[str(folder.parent)],
    )


def to_sql(node: ast.Node, source: Source) -> ColumnElement[bool]:
    """The condition of a parsed filter on ``source``'s table."""
    return _Translator(source).condition(node, 0)


class _Translator:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.props = filterable(source)

    # -- operands --------------------------------------------------------------------------
    def prop(self, node: Any) -> tuple[Prop, ColumnElement[Any]]:
        if not isinstance(node, ast.Attribute):
            raise InvalidInput("the left side must be a property name", field="filter")
        prop = self.props.get(node.name)
        if prop is None:
            raise InvalidInput(
                f"unknown property {node.name!r}; filterable: {', '.join(self.props)}",
                field="filter",
            )
        return prop, self.source.table.c[prop.source_column]

    def value(self, prop: Prop, raw: Any) -> Any:
        if isinstance(raw, ast.Node | values.Geometry | values.Envelope):
            raise InvalidInput(f"{prop.name} must be compared with a literal value", field="filter")
        if prop.format == "date-time":
            return _instant(raw, prop.name)
        expected = _TYPES.get(prop.type)
        if expected is not None and (
            not isinstance(raw, expected) or (isinstance(raw, bool) and prop.type != "boolean")
        ):
            raise InvalidInput(f"{prop.name} is a {prop.type}, not {raw!r}", field="filter")
        return raw

    # -- predicates ------------------------------------------------------------------------
    def condition(self, node: Any, depth: int) -> ColumnElement[bool]:
        if depth > MAX_DEPTH:
            raise InvalidInput(f"nested deeper than {MAX_DEPTH}", field="filter")
        d = depth + 1
        if isinstance(node, ast.And):
            return and_(self.condition(node.lhs, d), self.condition(node.rhs, d))
        if isinstance(node, ast.Or):
            return or_(self.condition(node.lhs, d), self.condition(node.rhs, d))
        if isinstance(node, ast.Not):
            return not_(self.condition(node.sub_node, d))
        if isinstance(node, bool):
            return literal(node)
        if isinstance(node, ast.Comparison):
            return self.comparison(node)
        if isinstance(node, ast.Like):
            prop, column = self.prop(node.lhs)
            if prop.type != "string" or prop.format is not None:
                raise InvalidInput(f"LIKE needs a text property, not {prop.name}", field="filter")
            pattern = _like_pattern(node)
            test = (
                column.ilike(pattern, escape="\\")
                if node.nocase
                else column.like(pattern, escape="\\")
            )
            return not_(test) if node.not_ else test
        if isinstance(node, ast.In):
            prop, column = self.prop(node.lhs)
            options = [self.value(prop, v) for v in node.sub_nodes]
            return column.not_in(options) if node.not_ else column.in_(options)
        if isinstance(node, ast.Between):
            prop, column = self.prop(node.lhs)
            test = column.between(self.value(prop, node.low), self.value(prop, node.high))
            return not_(test) if node.not_ else test
        if isinstance(node, ast.IsNull):
            if isinstance(node.lhs, ast.Attribute) and node.lhs.name in GEOMETRY_NAMES:
                tested: ColumnElement[Any] = self.source.geom
            else:
                _, tested = self.prop(node.lhs)
            return tested.is_not(None) if node.not_ else tested.is_(None)
        if isinstance(node, ast.TemporalPredicate):
            return self.temporal(node)
        if isinstance(node, ast.GeometryIntersects):
            return func.ST_Intersects(self.geometry_column(node.lhs), _geometry(node.rhs))
        if isinstance(node, ast.BBox):
            self.geometry_column(node.lhs)
            box = func.ST_MakeEnvelope(node.minx, node.miny, node.maxx, node.maxy, 4326)
            return func.ST_Intersects(self.source.geom, box)
        name = type(node).__name__
        raise InvalidInput(f"{name} is not supported in filters here", field="filter")

    def comparison(self, node: Any) -> ColumnElement[bool]:
        lhs, rhs = node.lhs, node.rhs
        if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
            flip = {ast.LessThan: ast.GreaterThan, ast.GreaterThan: ast.LessThan}
            flip |= {ast.LessEqual: ast.GreaterEqual, ast.GreaterEqual: ast.LessEqual}
            node = flip.get(type(node), type(node))(rhs, lhs)
            lhs, rhs = rhs, lhs
        prop, column = self.prop(lhs)
        value = self.value(prop, rhs)
        ops: dict[type, Any] = {
            ast.Equal: column.__eq__,
            ast.NotEqual: column.__ne__,
            ast.LessThan: column.__lt__,
            ast.LessEqual: column.__le__,
            ast.GreaterThan: column.__gt__,
            ast.GreaterEqual: column.__ge__,
        }
        op = ops.get(type(node))
        if op is None:
            raise InvalidInput(f"{type(node).__name__} is not supported", field="filter")
        return op(value)  # type: ignore[no-any-return]

    def temporal(self, node: Any) -> ColumnElement[bool]:
        prop, column = self.prop(node.lhs)
        if prop.format != "date-time":
            raise InvalidInput(f"{prop.name} is not a time property", field="filter")
        rhs = node.rhs
        if isinstance(rhs, values.Interval):
            start = None if rhs.start in (None, "..") else _instant(rhs.start, prop.name)
            end = None if rhs.end in (None, "..") else _instant(rhs.end, prop.name)
        else:
            start = end = _instant(rhs, prop.name)
        kind = type(node).__name__
        if kind == "TimeBefore":
            return column < (start if start is not None else end)
        if kind == "TimeAfter":
            return column > (end if end is not None else start)
        if kind == "TimeEquals" and start == end:
            return column == start
        if kind in ("TimeIntersects", "TimeDuring", "TimeEquals"):
            parts = []
            if start is not None:
                parts.append(column >= start)
            if end is not None:
                parts.append(column <= end)
            return and_(column.is_not(None), *parts)
        raise InvalidInput(f"{kind} is not supported", field="filter")

    def geometry_column(self, node: Any) -> Any:
        if not (isinstance(node, ast.Attribute) and node.name in GEOMETRY_NAMES):
            raise InvalidInput("spatial predicates apply to the property geometry", field="filter")
        return self.source.geom


def _like_pattern(node: Any) -> str:
    """The CQL2 pattern (``%`` any characters, ``_`` one, ``\\`` escapes the next) as a
    LIKE pattern with ``\\`` as its escape character (pygeofilter's text parser names
    ``.`` as the single-character wildcard; CQL2 has ``_``)."""
    text = node.pattern
    if not isinstance(text, str):
        raise InvalidInput("LIKE needs a text pattern", field="filter")
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":  # keeps the next character literal; alone at the end, itself
            out.append("\\" + (text[i + 1] if i + 1 < len(text) else "\\"))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _instant(raw: Any, name: str) -> datetime:
    if isinstance(raw, datetime):
        return raw if raw.tzinfo is not None else raw.replace(tzinfo=UTC)
    if isinstance(raw, date):
        return datetime.combine(raw, time(), tzinfo=UTC)
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.replace("z", "Z"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise InvalidInput(f"{name} must be compared with a TIMESTAMP or DATE", field="filter")


def _geometry(raw: Any) -> Any:
    """A bound EPSG:4326 geometry from a pygeofilter geometry or envelope value."""
    if isinstance(raw, values.Envelope):
        return func.ST_MakeEnvelope(raw.x1, raw.y1, raw.x2, raw.y2, 4326)
    if isinstance(raw, values.Geometry):
        geojson = json.dumps(raw.geometry)
        return func.ST_SetSRID(func.ST_GeomFromGeoJSON(geojson), 4326)
    raise InvalidInput("S_INTERSECTS needs a geometry literal", field="filter")


def parse_sortby(text: str, source: Source) -> list[tuple[Any, bool]]:
    """``sortby=prop,-prop,+prop`` as (column, descending) pairs; unknown names refused."""
    out = []
    props = {p.name: p for p in source.props if p.type in ("string", "integer", "number")}
    for raw in (t.strip() for t in text.split(",")):
        if not raw:
            continue
        descending = raw.startswith("-")
        name = raw.lstrip("+-").strip()
        if name == source.id_column and source.prop(name) is None:
            out.append((source.table.c[source.id_column], descending))
            continue
        prop = props.get(name)
        if prop is None:
            raise InvalidInput(
                f"cannot sort by {name!r}; sortable: {', '.join(props)}", field="sortby"
            )
        out.append((source.table.c[prop.source_column], descending))
    if not out:
        raise InvalidInput("name at least one property", field="sortby")
    return out


def parse_properties(text: str, source: Source) -> Sequence[str]:
    """``properties=a,b``: the properties to serve (unknown names refused)."""
    wanted = [t.strip() for t in text.split(",") if t.strip()]
    for name in wanted:
        if source.prop(name) is None:
            known = ", ".join(p.name for p in source.props)
            raise InvalidInput(
                f"unknown property {name!r}; properties: {known}", field="properties"
            )
    return wanted
