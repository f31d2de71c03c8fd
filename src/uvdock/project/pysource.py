"""Reading a project's Python files with ``ast``: never importing or running them."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

from uvdock.project.readfile import SMALL_LIMIT, UnreadableFileError, read_bytes

__all__ = ["import_aliases", "module_file", "parse", "python_files", "qualified"]

SKIP_DIRS = {
    ".venv", "venv", ".git", "node_modules", "tests", "test", "build", "dist", "__pycache__",
    ".tox", ".nox", "migrations", "site-packages", "docs", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", "examples",
}  # fmt: skip
_MAX_FILES = 3000


def python_files(root: Path) -> Iterator[Path]:
    """The ``.py`` files under ``root``, in a stable order, skipping tests, venvs, docs, ..."""
    count = 0
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for filename in sorted(filenames):
            if filename.endswith(".py"):
                count += 1
                if count > _MAX_FILES:
                    return
                yield Path(directory, filename)


def parse(path: Path) -> ast.Module | None:
    """The module's tree; None if it cannot be parsed or read (``unparsable`` says which)."""
    try:
        return ast.parse(read_bytes(path, limit=SMALL_LIMIT), filename=str(path))
    except (SyntaxError, ValueError, UnreadableFileError):
        return None


def unparsable(root: Path, *, limit: int = 3) -> list[str]:
    """``path:line`` of files this Python cannot parse (newer syntax, e.g. 3.12's f-strings).

    Detection skips them silently on the way; when nothing is found, saying which
    files were not read (and that a newer Python would read them) is the fix.
    """
    found: list[str] = []
    for path in python_files(root):
        try:
            ast.parse(read_bytes(path, limit=SMALL_LIMIT), filename=str(path))
        except SyntaxError as error:
            found.append(f"{path.relative_to(root).as_posix()}:{error.lineno or 1}")
            if len(found) >= limit:
                break
        except (ValueError, UnreadableFileError):
            continue
    return found


def unreadable(root: Path, *, limit: int = 3) -> list[str]:
    """``path (why)`` of the ``.py`` files detection skipped: a FIFO, a device, too big, ..."""
    found: list[str] = []
    for path in python_files(root):
        try:
            read_bytes(path, limit=SMALL_LIMIT)
        except UnreadableFileError as error:
            found.append(f"{path.relative_to(root).as_posix()} ({error.reason})")
            if len(found) >= limit:
                break
    return found


def import_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> what it refers to, from the module's top-level absolute imports."""
    aliases: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def qualified(func: ast.expr, aliases: dict[str, str]) -> str | None:
    """``fa.FastAPI`` with ``import fastapi as fa`` -> ``fastapi.FastAPI``."""
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in aliases:
        return None
    return ".".join([aliases[func.id], *reversed(parts)])


def module_file(base: Path, module: str) -> Path | None:
    """The file of ``module`` importable from ``base`` (or ``base/src``)."""
    for directory in (base, base / "src"):
        candidate = directory.joinpath(*module.split("."))
        for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
            if path.is_file():
                return path
    return None


def string_assignments(tree: ast.Module) -> dict[str, tuple[str, int]]:
    """``NAME = "text"`` assignments (also inside ``if``/``try``): name -> (text, line)."""
    values: dict[str, tuple[str, int]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Constant):
            continue
        if not isinstance(node.value.value, str):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name):
                values[target.id] = (node.value.value, node.lineno)
    return values


def has_main_guard(tree: ast.Module) -> bool:
    """Whether the module runs something under ``if __name__ == "__main__":``."""
    for node in tree.body:
        if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
            continue
        test = node.test
        sides = [test.left, *test.comparators]
        names = any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
        main = any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
        if names and main:
            return True
    return False
