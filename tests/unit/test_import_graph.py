"""The shape of the code: no import circle among the repo's own modules, the one-way rules of the design,
and no file over 400 lines.

The graph is read from the source with ``ast``, never by importing. Its nodes are the modules of
``ganger``, ``essentials``, ``processors`` and ``benchmarks``; an edge is an import of one of them:

- ``import a.b.c`` imports ``a.b.c`` and, when the importer is not inside them, its packages ``a`` and
  ``a.b`` (Python runs their ``__init__`` first);
- ``from pkg import name`` imports ``pkg.name`` when that is a module, else ``pkg`` itself;
- relative imports are resolved against the importing module's package;
- imports under ``if TYPE_CHECKING:`` never run and are left out;
- an import inside a function counts as a run-time import, like one at module level: it runs when its
  code path does, and a lazy import that only hides a circle is still a circle (the deploy closure in
  ``ganger/deploy/imports.py`` counts them the same way).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ganger.deploy.functions import PACKAGES as FUNCTION_PACKAGES
from ganger.deploy.functions import PackageSpec

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("ganger", "essentials", "processors", "benchmarks")
MAX_LINES = 400
NEVER_IN_A_LAMBDA = ("ganger.local", "ganger.cli", "benchmarks")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files(root: Path) -> dict[str, Path]:
    """Every module of the four folders, by dotted name (recorded results are data, not code)."""
    found: dict[str, Path] = {}
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            if "__pycache__" not in path.parts and "results" not in path.relative_to(root).parts:
                found[module_name(path, root)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _run_time_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement but those under ``if TYPE_CHECKING:`` (their ``else`` branch does run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for inner in node.orelse:
                yield from _run_time_imports(ast.Module(body=[inner], type_ignores=[]))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _run_time_imports(node)


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _absolute(node: ast.ImportFrom, module: str, path: Path) -> str:
    if not node.level:
        return node.module or ""
    parts = _package_of(module, path).split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _with_packages(target: str, importer: str, modules: dict[str, Path]) -> Iterator[str]:
    """``target`` and the packages Python initialises before it, but not the importer's own packages."""
    parts = target.split(".")
    for i in range(1, len(parts)):
        package = ".".join(parts[:i])
        if package in modules and not importer.startswith(f"{package}."):
            yield package
    if target in modules:
        yield target


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> Iterator[Edge]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in _run_time_imports(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from (Edge(module, t, node.lineno) for t in _with_packages(alias.name, module, modules))
            continue
        base = _absolute(node, module, path)
        for alias in node.names:
            named = f"{base}.{alias.name}"
            target = named if named in modules else base
            yield from (Edge(module, t, node.lineno) for t in _with_packages(target, module, modules))


def import_graph(root: Path = ROOT) -> dict[str, list[Edge]]:
    modules = source_files(root)
    graph: dict[str, list[Edge]] = {}
    for module, path in modules.items():
        graph[module] = [e for e in imports_of(module, path, modules) if e.target != module]
    return graph


def find_cycles(graph: dict[str, list[Edge]]) -> list[list[Edge]]:
    """One circle per strongly connected component of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            edges = graph.get(node, [])
            if i < len(edges):
                work.append((node, i + 1))
                target = edges[i].target
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return [_circle_in(graph, component) for component in components]


def _circle_in(graph: dict[str, list[Edge]], component: set[str]) -> list[Edge]:
    """A shortest circle through the component's first module (breadth-first, inside the component)."""
    start = min(component)
    came_by: dict[str, Edge] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for edge in graph[node]:
                if edge.target not in component:
                    continue
                if edge.target == start:
                    path = [edge]
                    while path[0].source != start:
                        path.insert(0, came_by[path[0].source])
                    return path
                if edge.target not in came_by:
                    came_by[edge.target] = edge
                    following.append(edge.target)
        frontier = following
    raise AssertionError(f"no circle in {sorted(component)}")


def describe(circle: list[Edge]) -> str:
    steps = " -> ".join(f"{e.source} (line {e.line})" for e in circle)
    return f"{steps} -> {circle[0].source}"


def reachable(graph: dict[str, list[Edge]], start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for edge in graph[todo.pop()]:
            if edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return seen


def _inside(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in packages)


@pytest.fixture(scope="module")
def graph() -> dict[str, list[Edge]]:
    return import_graph()


def test_the_repos_modules_import_each_other_without_a_circle(graph: dict[str, list[Edge]]) -> None:
    circles = [describe(c) for c in find_cycles(graph)]

    assert len(graph) > 150 and "processors.telegram.webhook" in graph
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_a_circle_is_found_and_named(tmp_path: Path) -> None:
    for folder in FOLDERS:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "ganger" / "a.py").write_text("from ganger import b\n")
    (tmp_path / "ganger" / "b.py").write_text("import os\n\n\ndef later():\n    from .c import x\n")
    (tmp_path / "ganger" / "c.py").write_text("from typing import TYPE_CHECKING\nimport ganger.a\nx = 1\n")
    (tmp_path / "ganger" / "d.py").write_text("import typing\nif typing.TYPE_CHECKING:\n    import ganger.e\n")
    (tmp_path / "ganger" / "e.py").write_text("import ganger.d\n")

    circles = [describe(c) for c in find_cycles(import_graph(tmp_path))]

    assert circles == ["ganger.a (line 1) -> ganger.b (line 5) -> ganger.c (line 2) -> ganger.a"]


def test_ganger_imports_neither_essentials_nor_processors(graph: dict[str, list[Edge]]) -> None:
    wrong = [
        f"{e.source} line {e.line} imports {e.target}"
        for module, edges in graph.items()
        if _inside(module, ("ganger",))
        for e in edges
        if _inside(e.target, ("essentials", "processors", "benchmarks"))
    ]

    assert not wrong


@pytest.mark.parametrize("spec", [s for s in FUNCTION_PACKAGES if s.handler and s.module in import_graph()])
def test_nothing_a_lambda_runs_reaches_local_mode_the_cli_or_benchmarks(
    graph: dict[str, list[Edge]], spec: PackageSpec
) -> None:
    reached = reachable(graph, spec.module)

    assert spec.module in reached
    assert not sorted(m for m in reached if _inside(m, NEVER_IN_A_LAMBDA))


def test_no_file_of_the_four_folders_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in source_files(ROOT).values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }

    assert not long, f"over {MAX_LINES} lines: {long}"
