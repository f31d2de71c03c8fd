"""The code's map holds: no import cycle anywhere in ``uvdock``, the Dockerfile reader's layout.

``uvdock.lint.syntax`` once imported ``parse_mount`` back from the parser (a
function-level import that closed the only cycle in the codebase, issue 13).
The graph here counts every ``import`` statement, also those inside functions
and under ``if TYPE_CHECKING:``, so a cycle cannot come back hidden in one.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import uvdock
import uvdock.dockerfile as parser
from uvdock.dockerfile import parser as dockerfile_parser

PACKAGE = Path(uvdock.__file__).parent
SRC = PACKAGE.parent
DOCKERFILE = sorted((PACKAGE / "dockerfile").glob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """The ``uvdock`` modules that ``name`` imports, wherever the statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from uvdock.plan import images` imports the module uvdock.plan.images (and
            # the package only to reach it); `from uvdock.plan import make_plan` the package.
            submodules = {f"{base}.{alias.name}" for alias in node.names} & MODULES.keys()
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(base)
    return {module for module in found if module in MODULES and module != name}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in ``graph`` (as a path that ends where it starts), or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(module: str) -> list[str] | None:
        if module in on_path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        on_path.add(module)
        for target in sorted(graph[module]):
            found = visit(target)
            if found:
                return found
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    for module in sorted(graph):
        found = visit(module)
        if found:
            return found
    return None


def test_the_modules_import_each_other_without_a_cycle() -> None:
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    assert graph["uvdock.dockerfile.parser"] >= {"uvdock.dockerfile.syntax"}  # the walk sees edges
    assert _cycle(graph) is None


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_syntax_tree_does_not_import_the_parser() -> None:
    imported = _imports("uvdock.dockerfile.syntax", MODULES["uvdock.dockerfile.syntax"])
    # runmount is a leaf: it imports nothing from uvdock
    assert imported <= {"uvdock.dockerfile.runmount"}
    assert not _imports("uvdock.dockerfile.runmount", MODULES["uvdock.dockerfile.runmount"])


@pytest.mark.parametrize("path", DOCKERFILE, ids=lambda path: path.stem)
def test_each_parser_module_follows_one_buildkit_file(path: Path) -> None:
    module = importlib.import_module(_module_name(path))
    assert module.__doc__
    if path.name not in {"__init__.py", "syntax.py"}:  # syntax.py: the tree they all build
        assert ".go" in module.__doc__ or "Go's" in module.__doc__
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 550  # "about 500 lines" (issue 13)


def test_the_dockerfile_package_is_a_facade() -> None:
    assert parser.__all__ == ["KEYWORDS", "expand", "key_values", "parse_dockerfile", "parse_mount"]
    for name in ("expand", "key_values", "parse_dockerfile", "parse_mount"):
        assert getattr(parser, name).__module__.startswith("uvdock.dockerfile.")
    assert parser.KEYWORDS is dockerfile_parser.KEYWORDS
    # Re-exports only: no code of its own beside the docstring and the imports.
    tree = ast.parse(Path(parser.__file__).read_text(encoding="utf-8"))
    assert {type(node).__name__ for node in tree.body} == {"Expr", "ImportFrom", "Assign"}


def _package(module: str) -> str:
    """``uvdock.plan.model`` -> ``plan``; top-level modules are their own package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


# What each package may not import (ARCHITECTURE.md, "Rules the tests keep"); the
# data a package reads from another (plan.model, project.model) stays allowed.
FORBIDDEN: dict[str, set[str]] = {
    "project": {"cli", "api", "builders", "oci", "render", "plan", "lint", "doctor"},
    "dockerfile": {"cli", "api", "builders", "oci", "render", "plan", "lint", "project"},
    "lint": {"cli", "api", "builders", "oci", "render", "plan", "doctor"},
    "plan": {"cli", "api", "builders", "oci", "render", "lint", "doctor"},
    "render": {"cli", "api", "builders", "oci", "lint", "doctor"},
    "oci": {"cli", "api", "builders", "render", "lint", "doctor"},
    "builders": {"cli", "api", "lint", "doctor"},
    "api": {"cli"},
    "doctor": {"cli"},
}
# Only these modules of plan/ are data others may read; the planner is not.
PLAN_DATA = {"uvdock.plan.model", "uvdock.plan.images", "uvdock.plan.context"}


def test_imports_go_one_way() -> None:
    broken = []
    for name, path in MODULES.items():
        here = _package(name)
        for target in _imports(name, path):
            there = _package(target)
            if there == here:
                continue
            if there in FORBIDDEN.get(here, set()):
                broken.append(f"{name} -> {target}")
            elif there == "plan" and here in {"render", "oci"} and target not in PLAN_DATA:
                broken.append(f"{name} -> {target} (the planner; read plan.model)")
            elif there == "cli" and name != "uvdock.__main__":
                broken.append(f"{name} -> {target} (nothing imports the CLI)")
    assert broken == []


def test_the_boundary_check_sees_a_wrong_import() -> None:
    assert _package("uvdock.plan.model") == "plan"
    assert "render" in FORBIDDEN["oci"]
    assert "uvdock.oci.engine" in MODULES
    assert any(
        _package(t) == "plan" for t in _imports("uvdock.oci.engine", MODULES["uvdock.oci.engine"])
    )
