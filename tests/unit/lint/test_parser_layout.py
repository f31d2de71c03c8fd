"""The parser's layout: one module per BuildKit file, no import cycle in ``uvdock.lint``.

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

import uvdock.lint
from uvdock.lint import parser
from uvdock.lint.dockerfile import parser as dockerfile_parser

LINT = Path(uvdock.lint.__file__).parent
SRC = LINT.parent.parent
DOCKERFILE = sorted((LINT / "dockerfile").glob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(LINT.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """The ``uvdock.lint`` modules that ``name`` imports, wherever the statement is."""
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
            found.add(base)
            # `from uvdock.lint import parser` imports the module uvdock.lint.parser
            found.update(
                f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES
            )
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


def test_the_lint_modules_import_each_other_without_a_cycle() -> None:
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    assert graph["uvdock.lint.dockerfile.parser"] >= {"uvdock.lint.syntax"}  # the walk sees edges
    assert _cycle(graph) is None


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_syntax_tree_does_not_import_the_parser() -> None:
    imported = _imports("uvdock.lint.syntax", MODULES["uvdock.lint.syntax"])
    # runmount is a leaf: it imports nothing from uvdock
    assert imported <= {"uvdock.lint.dockerfile", "uvdock.lint.dockerfile.runmount"}
    assert not _imports(
        "uvdock.lint.dockerfile.runmount", MODULES["uvdock.lint.dockerfile.runmount"]
    )


@pytest.mark.parametrize("path", DOCKERFILE, ids=lambda path: path.stem)
def test_each_parser_module_follows_one_buildkit_file(path: Path) -> None:
    module = importlib.import_module(_module_name(path))
    assert module.__doc__
    if path.name != "__init__.py":
        assert ".go" in module.__doc__ or "Go's" in module.__doc__
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 550  # "about 500 lines" (issue 13)


def test_the_parser_module_is_a_facade() -> None:
    assert parser.__all__ == ["KEYWORDS", "expand", "key_values", "parse_dockerfile", "parse_mount"]
    for name in ("expand", "key_values", "parse_dockerfile", "parse_mount"):
        assert getattr(parser, name).__module__.startswith("uvdock.lint.dockerfile.")
    assert parser.KEYWORDS is dockerfile_parser.KEYWORDS
    assert len(Path(parser.__file__).read_text(encoding="utf-8").splitlines()) < 50
