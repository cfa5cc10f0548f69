"""Architecture rules as tests: the import graph of Tailor's packages has no cycle, and an import
inside a function says why it is there.

The layers themselves (each package imports only those below it; the engines import no Django) are
import-linter contracts in pyproject.toml, checked by `make lint`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tailor", "rules", "variants", "cms", "themes")


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm over every module of the graph; components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in sorted(graph.modules):
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_the_import_graph_of_tailors_packages_has_no_cycle():
    # grimp reads every import statement, those inside functions included.
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)

    assert strongly_connected(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(module)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")

    assert strongly_connected(graph) == [["a.x", "a.y"]]


def _unexplained_function_imports(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if node.name == "ready":  # AppConfig.ready: models import only once the registry is ready
            continue
        for child in ast.walk(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                line = child.lineno - 1
                said = "#" in lines[line] or any(
                    lines[i].strip().startswith("#") for i in range(max(0, line - 3), line)
                )
                if not said:
                    found.append(f"{path.relative_to(ROOT)}:{child.lineno}: {lines[line].strip()}")
    return found


def test_an_import_inside_a_function_says_why_it_is_not_at_the_top():
    unexplained = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                unexplained += _unexplained_function_imports(path)

    assert unexplained == []
