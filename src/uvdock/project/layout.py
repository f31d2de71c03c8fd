"""Where the app is: the uv workspace a directory belongs to, the member that is the app,
and the files the members' ``pyproject.toml`` name."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from uvdock.config import Settings
from uvdock.errors import ProjectError
from uvdock.project.documents import read_pyproject as read_pyproject_file
from uvdock.project.entrypoint import detect_entrypoint
from uvdock.project.entrysearch import HTTP_SERVERS
from uvdock.project.facts import is_packaged, referenced_files
from uvdock.project.model import Sourced, WorkspaceMember
from uvdock.project.packagesources import build_requires
from uvdock.project.workspace import Member, find_root, members

__all__ = ["Layout", "find_layout", "referenced_in_context", "workspace_members"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Layout:
    """Where things are: the build context (workspace root) and the app project in it."""

    context: Path
    context_pyproject: Mapping[str, Any] | None
    context_text: str | None
    app_dir: Path
    app_pyproject: Mapping[str, Any] | None
    app_text: str | None
    package: str | None  # the member `uv sync --package` selects
    members: tuple[Member, ...]
    virtual_root: bool
    notes: tuple[str, ...] = ()


def _single_project(root: Path, pyproject: Mapping[str, Any] | None, text: str | None) -> Layout:
    return Layout(
        context=root,
        context_pyproject=pyproject,
        context_text=text,
        app_dir=root,
        app_pyproject=pyproject,
        app_text=text,
        package=None,
        members=(),
        virtual_root=False,
    )


def find_layout(
    root: Path,
    *,
    pyproject: Mapping[str, Any] | None,
    text: str | None,
    settings: Settings,
) -> Layout:
    """Find the workspace ``root`` is in (if any) and the project in it that is the app."""
    found = find_root(root)
    wanted = settings.sourced("package")
    if found is None:
        if wanted.value is not None:
            raise ProjectError(
                f"{wanted.source} {wanted.value}: {root} is not in a uv workspace",
                hint="--package selects a workspace member; leave it out for a single project",
            )
        return _single_project(root, pyproject, text)
    context = found
    if context == root.resolve():
        context_pyproject, context_text = pyproject, text
    else:
        context_pyproject, context_text = read_pyproject_file(context / "pyproject.toml")
    all_members = tuple(members(context, context_pyproject or {}, context_text))
    root_project = (context_pyproject or {}).get("project")
    virtual = not isinstance(root_project, dict)
    if wanted.value is not None:
        member = _member_named(all_members, str(wanted.value), root_project)
        why = f"{wanted.source} {wanted.value}"
    elif context != root.resolve():
        member = next((m for m in all_members if (context / m.path).resolve() == root.resolve()),
                      None)  # fmt: skip
        why = "uvdock was pointed at its directory"
    elif not virtual or settings.get("command") is not None:
        # The root project; or a virtual root with a command of the user's own: every
        # member is installed, as `uv sync` there does.
        member, why = None, ""
    else:
        member, why = _the_app_member(context, all_members, settings)
    base = Layout(
        context=context,
        context_pyproject=context_pyproject,
        context_text=context_text,
        app_dir=context,
        app_pyproject=context_pyproject,
        app_text=context_text,
        package=None,
        members=all_members,
        virtual_root=virtual,
    )
    if member is None:
        return base
    return dataclasses.replace(
        base,
        app_dir=context / member.path,
        app_pyproject=member.pyproject,
        app_text=member.text,
        package=member.name,
        virtual_root=False,
        notes=(
            (
                f"workspace member {member.name} ({member.path}) is the app: {why}; built "
                f"with the workspace root ({_shown(context, root)}) as the context and its "
                "uv.lock"
            ),
        ),
    )


def _shown(path: Path, root: Path) -> str:
    """``path`` as seen from where uvdock was pointed (``..``, ``.``): no machine's paths."""
    return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


def _member_named(
    all_members: tuple[Member, ...], wanted: str, root_project: object
) -> Member | None:
    key = canonicalize_name(wanted)
    for member in all_members:
        if canonicalize_name(member.name) == key:
            return member
    if isinstance(root_project, dict) and canonicalize_name(str(root_project.get("name"))) == key:
        return None  # the root project itself: no --package needed
    names = ", ".join(m.name for m in all_members) or "none"
    raise ProjectError(
        f"--package {wanted}: no such workspace member (members: {names})",
        hint="pass the name of one of the members",
    )


def _the_app_member(
    context: Path, all_members: tuple[Member, ...], settings: Settings
) -> tuple[Member | None, str]:
    """On a virtual workspace root: the one member that has a way to start, if one."""
    candidates: list[tuple[Member, str]] = []
    for member in all_members:
        directory = context / member.path
        scripts = member.pyproject.get("project", {}).get("scripts")
        entry, _ = detect_entrypoint(
            root=directory,
            command=None,
            port=int(settings.get("port")),
            scripts=Sourced(dict(scripts), "pyproject.toml") if isinstance(scripts, dict) else None,
            deps=_ANY_SERVER,
            packaged=is_packaged(member.pyproject),
            http_override=None,
        )
        if entry is not None:
            candidates.append((member, " ".join(entry.value.argv)))
    if len(candidates) == 1:
        return candidates[0][0], "the only member with a way to start"
    if len(candidates) > 1:
        listed = ", ".join(f"{m.name} ({m.path}: {argv})" for m, argv in candidates)
        raise ProjectError(
            f"{context}: several workspace members could be the app: {listed}",
            hint=f"choose one with --package {candidates[0][0].name} (or [tool.uvdock] package, "
            "or run uvdock on the member's directory)",
        )
    return None, ""


# Detection on a virtual root only asks "has this member an app?": any server will do.
_ANY_SERVER = frozenset(HTTP_SERVERS)


def workspace_members(layout: Layout) -> tuple[WorkspaceMember, ...]:
    return tuple(
        WorkspaceMember(
            name=m.name,
            path=Path(m.path),
            build_requires=build_requires(m.pyproject, packaged=is_packaged(m.pyproject)),
        )
        for m in layout.members
    )


def referenced_in_context(layout: Layout) -> tuple[str, ...]:
    """README/licence files every built project's pyproject.toml names, from the context."""
    found = list(referenced_files(layout.context_pyproject))
    for member in layout.members:
        found.extend(f"{member.path}/{f}" for f in referenced_files(member.pyproject))
    return tuple(dict.fromkeys(found))
