"""uv workspaces: finding the root from any directory, and listing the members.

This follows uv's own discovery (``uv-workspace``'s ``ProjectWorkspace::discover``):
from the project's directory, walk up the ancestors; the first
``pyproject.toml`` with a ``[tool.uv.workspace]`` table whose ``members``
globs include the project (and whose ``exclude`` globs do not) is the
workspace root, and the lock is that root's ``uv.lock``. A directory that is
itself a workspace root is its own root. Run from a member's directory, uv
syncs that member (``--package``) against the root's lock; uvdock does the
same, with the workspace root as the build context.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from uvdock._toml import read_toml
from uvdock.errors import ProjectError


@dataclasses.dataclass(frozen=True, kw_only=True)
class Member:
    """A workspace member as read from its ``pyproject.toml``."""

    name: str
    path: PurePosixPath  # relative to the workspace root ("." for the root project)
    pyproject: Mapping[str, Any]
    text: str


def _table(pyproject: Mapping[str, Any]) -> Mapping[str, Any] | None:
    workspace = pyproject.get("tool", {}).get("uv", {}).get("workspace")
    return workspace if isinstance(workspace, dict) else None


def _matches(relative: PurePosixPath, patterns: object) -> bool:
    if not isinstance(patterns, list):
        return False
    text = relative.as_posix()
    return any(isinstance(p, str) and fnmatch.fnmatchcase(text, p.rstrip("/")) for p in patterns)


def find_root(directory: Path) -> Path | None:
    """The workspace root ``directory`` belongs to (itself included), or None."""
    start = directory.resolve()
    for candidate in (start, *start.parents):
        manifest = candidate / "pyproject.toml"
        if not manifest.is_file():
            continue
        try:
            data, _ = read_toml(manifest)
        except ProjectError:
            if candidate == start:
                raise
            continue  # a broken pyproject.toml elsewhere up the tree is not ours to report
        table = _table(data)
        if table is None:
            continue
        if candidate == start:
            return candidate
        relative = PurePosixPath(start.relative_to(candidate).as_posix())
        if _matches(relative, table.get("exclude")):
            return None
        if _matches(relative, table.get("members")):
            return candidate
    return None


def members(root: Path, pyproject: Mapping[str, Any]) -> list[Member]:
    """The members ``[tool.uv.workspace]`` lists (globs expanded, excludes applied), sorted."""
    table = _table(pyproject) or {}
    excluded: set[Path] = set()
    for pattern in table.get("exclude", ()):
        excluded.update(p.resolve() for p in root.glob(str(pattern)))
    found: dict[Path, Member] = {}
    for pattern in table.get("members", ()):
        for directory in sorted(root.glob(str(pattern))):
            manifest = directory / "pyproject.toml"
            resolved = directory.resolve()
            if resolved in excluded or resolved == root.resolve() or not manifest.is_file():
                continue
            data, text = read_toml(manifest)
            name = data.get("project", {}).get("name", directory.name)
            found[resolved] = Member(
                name=str(name),
                path=PurePosixPath(directory.relative_to(root).as_posix()),
                pyproject=data,
                text=text,
            )
    return sorted(found.values(), key=lambda m: m.path.as_posix())
