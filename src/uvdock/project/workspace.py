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

from uvdock._toml import line_of_key
from uvdock.errors import ConfigError
from uvdock.project.documents import read_pyproject, relative_path
from uvdock.project.readfile import exists
from uvdock.project.schema import shown


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
            data, _ = read_pyproject(manifest)
        except ConfigError:
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


def _expand(root: Path, key: str, pattern: str, text: str | None) -> list[Path]:
    """The directories a ``members``/``exclude`` glob names; all inside ``root``, as uv requires.

    uv refuses a member outside the workspace root; uvdock would otherwise mount
    it as ``./..`` and copy it from outside the build context.
    """
    where = root / "pyproject.toml"
    shown_key = f"`tool.uv.workspace.{key}`"
    line = line_of_key(text or "", "tool.uv.workspace", key)
    hint = "list members as paths (or globs) inside the workspace root, as uv requires"
    wrong = relative_path(pattern)
    if wrong is not None:
        raise ConfigError(
            f"{shown_key} = {shown(pattern)}: {wrong}", path=where, line=line, hint=hint
        )
    if not PurePosixPath(pattern).parts:
        return [root]  # "." is the root itself (pathlib's glob fails on it)
    try:
        matches = sorted(root.glob(pattern))
    except (ValueError, NotImplementedError) as err:  # pathlib's "Unacceptable pattern"
        raise ConfigError(
            f"{shown_key} = {shown(pattern)}: is not a glob pattern ({err})",
            path=where,
            line=line,
            hint=hint,
        ) from err
    inside = root.resolve()
    for match in matches:
        if not match.resolve().is_relative_to(inside):  # through a symbolic link
            raise ConfigError(
                f"{shown_key} = {shown(pattern)}: matches {match.relative_to(root)}, "
                "which links outside the workspace root",
                path=where,
                line=line,
                hint=hint,
            )
    return matches


def members(root: Path, pyproject: Mapping[str, Any], text: str | None = None) -> list[Member]:
    """The members ``[tool.uv.workspace]`` lists (globs expanded, excludes applied), sorted.

    ``text`` is the root's ``pyproject.toml``, for the line of a bad pattern.
    """
    table = _table(pyproject) or {}
    excluded: set[Path] = set()
    for pattern in table.get("exclude", ()):
        excluded.update(p.resolve() for p in _expand(root, "exclude", pattern, text))
    found: dict[Path, Member] = {}
    for pattern in table.get("members", ()):
        for directory in _expand(root, "members", pattern, text):
            manifest = directory / "pyproject.toml"
            resolved = directory.resolve()
            if resolved in excluded or resolved == root.resolve() or not exists(manifest):
                continue
            data, text = read_pyproject(manifest)
            name = data.get("project", {}).get("name", directory.name)
            found[resolved] = Member(
                name=str(name),
                path=PurePosixPath(directory.relative_to(root).as_posix()),
                pyproject=data,
                text=text,
            )
    return sorted(found.values(), key=lambda m: m.path.as_posix())
