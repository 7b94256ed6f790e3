"""Which of the project's modules a handler needs: the import closure of its module, read from the source.

Every ``import`` counts, also one inside a function (a lazy import still runs when its code path does),
so the closure is what the handler can reach, not only what it loads at cold start. Third-party
imports are collected beside it, split into those made at module level (needed to import the
handler at all) and lazy ones.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

FIRST_PARTY = ("ganger", "essentials", "processors", "examples")


class ClosureError(Exception):
    """A handler reaches a module that must never ship in a function package."""


@dataclass
class ImportClosure:
    """The first-party modules a handler reaches, and the top-level names of everything else it imports."""

    modules: set[str] = field(default_factory=set)
    eager_third_party: set[str] = field(default_factory=set)
    lazy_third_party: set[str] = field(default_factory=set)

    def files(self, root: Path) -> list[Path]:
        return sorted(p for p in (module_file(root, m) for m in self.modules) if p is not None)


def module_file(root: Path, module: str) -> Path | None:
    path = root.joinpath(*module.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def _imported(module: str, source: Path) -> list[tuple[str, bool]]:
    """(imported name, at module level) for every import statement of ``source``."""
    tree = ast.parse(source.read_text(), str(source))
    package = module if source.name == "__init__.py" else module.rpartition(".")[0]
    top_level = {id(node) for node in tree.body}
    top_level |= {id(n) for node in tree.body if isinstance(node, (ast.If, ast.Try)) for n in ast.walk(node)}
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        eager = id(node) in top_level
        if isinstance(node, ast.Import):
            found.extend((alias.name, eager) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.append((base, eager))
            found.extend((f"{base}.{alias.name}", eager) for alias in node.names)
    return found


def _type_checking_only(source: Path) -> set[str]:
    """Names imported only under ``if TYPE_CHECKING:`` (never at run time)."""
    tree = ast.parse(source.read_text(), str(source))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module:
                    names.add(inner.module)
                elif isinstance(inner, ast.Import):
                    names.update(alias.name for alias in inner.names)
    return names


def closure(root: Path, module: str, forbidden: tuple[str, ...] = ()) -> ImportClosure:
    """The import closure of ``module`` inside ``root``; raises when it reaches a ``forbidden`` package."""
    result = ImportClosure()
    todo = [module]
    while todo:
        current = todo.pop()
        if current in result.modules:
            continue
        if any(current == f or current.startswith(f"{f}.") for f in forbidden):
            raise ClosureError(f"{module} reaches {current}, which never ships in a function package")
        source = module_file(root, current)
        if source is None:
            raise ClosureError(f"{module} imports {current}, which is not in {root}")
        result.modules.add(current)
        parts = current.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        skipped = _type_checking_only(source)
        for name, eager in _imported(current, source):
            if any(name == s or name.startswith(f"{s}.") for s in skipped):
                continue
            top = name.split(".")[0]
            if top in FIRST_PARTY:
                if module_file(root, name) is not None:
                    todo.append(name)
            elif top and top not in sys.stdlib_module_names:
                (result.eager_third_party if eager else result.lazy_third_party).add(top)
    result.lazy_third_party -= result.eager_third_party
    return result
