"""One SQL style: SQLAlchemy Core expressions, or ``text()`` of a constant with bound parameters.

Fails on SQL text assembled at run time: ``text(f"…")``, ``text("…" + x)``, ``text("…" % x)``,
``text("…".format(x))``, and ``text(sql)`` where ``sql`` was built so in the same function or
module (likewise ``exec_driver_sql``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

SQL_CALLS = {"text", "exec_driver_sql"}


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


class _Scope(ast.NodeVisitor):
    """Finds dynamic SQL in one function body or module body (nested functions on their own)."""

    def __init__(self, body: list[ast.stmt], outer: set[str]) -> None:
        self.body = body
        self.dynamic_names = set(outer)
        self.found: list[int] = []

    def dynamic(self, node: ast.expr | None) -> bool:
        if node is None:
            return False
        if isinstance(node, ast.JoinedStr):
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            # string concatenation or %-formatting with anything not constant
            return not (_constant(node.left) and _constant(node.right))
        if isinstance(node, ast.Call) and _called(node) in {"format", "join"}:
            return True
        if isinstance(node, ast.Name):
            return node.id in self.dynamic_names
        if isinstance(node, ast.IfExp):
            return self.dynamic(node.body) or self.dynamic(node.orelse)
        return False

    def run(self) -> list[int]:
        assigns = [n for stmt in self.body for n in _walk_scope(stmt)]
        changed = True
        while changed:  # names built from dynamic names are dynamic too
            changed = False
            for n in assigns:
                if isinstance(n, ast.Assign | ast.AugAssign | ast.AnnAssign):
                    targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                    dyn = self.dynamic(n.value) or (
                        isinstance(n, ast.AugAssign) and not _constant(n.value)
                    )
                    for t in targets:
                        if isinstance(t, ast.Name) and dyn and t.id not in self.dynamic_names:
                            self.dynamic_names.add(t.id)
                            changed = True
        for n in assigns:
            sql_call = isinstance(n, ast.Call) and _called(n) in SQL_CALLS and n.args
            if sql_call and self.dynamic(n.args[0]):  # type: ignore[attr-defined]
                self.found.append(n.lineno)  # type: ignore[attr-defined]
        return self.found


def _constant(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.BinOp):
        return _constant(node.left) and _constant(node.right)
    return False


def _walk_scope(node: ast.AST) -> list[ast.AST]:
    """Every node of ``node`` not inside a nested function or class."""
    out: list[ast.AST] = [node]
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        out.extend(_walk_scope(child))
    return out


def dynamic_sql(source: str) -> list[int]:
    """Line numbers of SQL text assembled at run time in ``source``."""
    tree = ast.parse(source)
    module = _Scope(tree.body, set())
    found = module.run()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += _Scope(node.body, module.dynamic_names).run()
        elif isinstance(node, ast.Lambda):
            found += _Scope([ast.Expr(node.body)], module.dynamic_names).run()
    return sorted(set(found))


SOURCES = sorted(p for top in ("gis", "api") for p in (ROOT / top).rglob("*.py"))


def test_no_sql_is_assembled_from_strings() -> None:
    found = {
        str(p.relative_to(ROOT)): lines
        for p in SOURCES
        if (lines := dynamic_sql(p.read_text(encoding="utf-8")))
    }
    assert not found, f"SQL text built at run time (use Core expressions): {found}"


@pytest.mark.parametrize(
    "source",
    [
        'text(f"SELECT {x}")',
        'sql = f"SELECT {x}"\ntext(sql)',
        'def f(x):\n    sql = "SELECT 1 WHERE " + x\n    return conn.execute(text(sql))',
        'def f(x):\n    sql = "SELECT 1"\n    sql += f" AND {x}"\n    return text(sql)',
        'text("SELECT {}".format(x))',
        'conn.exec_driver_sql("SELECT %s" % x)',
        'Q = {n: text(f"ANALYZE {n}") for n in ("a", "b")}',
    ],
)
def test_the_rule_catches(source: str) -> None:
    assert dynamic_sql(source), source


@pytest.mark.parametrize(
    "source",
    [
        'text("SELECT 1 WHERE a = :a")',
        'text("SELECT 1 "\n     "FROM t")',
        'SQL = "SELECT 1 " "FROM t"\ntext(SQL)',
        'message = f"{x} rows"',
    ],
)
def test_the_rule_allows(source: str) -> None:
    assert not dynamic_sql(source), source


def test_the_sources_are_found() -> None:
    assert len(SOURCES) > 100 and all(isinstance(p, Path) for p in SOURCES)
