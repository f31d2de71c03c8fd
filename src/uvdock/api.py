"""The library's entry points: inspect a project, plan it, generate its files, build it.

The CLI calls these; so can other programs. Nothing here prints or exits.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from uvdock.builders.request import Builder, BuildOutcome, BuildRequest, source_date_epoch
from uvdock.config import Settings, load_settings
from uvdock.errors import ConfigError, FileExistsConflictError, ProjectError, UsageError
from uvdock.fileio import FileChange, plan_changes, target_inside, write_all
from uvdock.plan import BuildPlan, make_plan
from uvdock.project import ProjectInfo, detect_project
from uvdock.project.detect import check_directory, read_pyproject
from uvdock.project.sdist import sdist_reader
from uvdock.render import render_files


def load_project(
    path: str | Path, *, options: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> tuple[ProjectInfo, Settings]:
    """Read the project at ``path``; settings resolve as flags > env > pyproject > defaults."""
    root = Path(path)
    check_directory(root)
    pyproject, text = read_pyproject(root)
    table: Any = (pyproject or {}).get("tool", {}).get("uvdock", {})
    if not isinstance(table, dict):
        raise ConfigError("[tool.uvdock] must be a table", path=root / "pyproject.toml")
    settings = load_settings(
        cli=options,
        environ=environ,
        table=table,
        pyproject_path=root / "pyproject.toml",
        pyproject_text=text,
    )
    project = detect_project(root, settings=settings, pyproject=pyproject, pyproject_text=text)
    return project, settings


def plan_project(
    path: str | Path, *, options: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> BuildPlan:
    project, settings = load_project(path, options=options, environ=environ)
    lock = project.lock
    online = lock is not None and not settings.get("offline")
    return make_plan(
        project, settings, read_sdist=sdist_reader(lock.path.parent) if online and lock else None
    )


Built = TypeVar("Built", bound=BuildOutcome)


def build_project(
    path: str | Path,
    request: BuildRequest,
    *,
    builder: Builder[Built],
    options: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> Built:
    """Plan the project at ``path`` and build it with ``builder`` as ``request`` says.

    Without a SOURCE_DATE_EPOCH in the request, the environment's or the last
    git commit's time is used (so rebuilding a commit gives the same timestamps).
    """
    request.check()
    plan = plan_project(path, options=options, environ=environ)
    if request.source_date_epoch is None:
        epoch = source_date_epoch(plan.project.root, os.environ if environ is None else environ)
        request = dataclasses.replace(request, source_date_epoch=epoch)
    if request.reproducible and request.source_date_epoch is None:
        raise UsageError("--reproducible needs --source-date-epoch (or a git checkout)")
    return builder.build(plan, request)


@dataclasses.dataclass(frozen=True, kw_only=True)
class InitResult:
    plan: BuildPlan
    changes: tuple[FileChange, ...]
    written: bool
    notes: tuple[str, ...] = ()


def init_project(
    path: str | Path,
    *,
    options: Mapping[str, Any],
    regenerate: str,
    regenerate_shared: str | None = None,
    dockerfile_name: str = "Dockerfile",
    force: bool = False,
    write: bool = True,
    environ: Mapping[str, str] | None = None,
) -> InitResult:
    """Render the Docker setup for the project; write it when ``write`` (all or nothing)."""
    plan = plan_project(path, options=options, environ=environ)
    if plan.errors:
        first = plan.errors[0]
        raise ProjectError(first.message, hint=first.hint)
    target_inside(plan.project.root, dockerfile_name)  # before anything is rendered or read
    files = render_files(
        plan,
        regenerate=regenerate,
        regenerate_shared=regenerate_shared,
        dockerfile_name=dockerfile_name,
    )
    changes = plan_changes(plan.project.root, [(f.name, f.content) for f in files])
    conflicts = [c.name for c in changes if c.action == "overwrite"]
    if write and conflicts and not force:
        raise FileExistsConflictError(
            f"{plan.project.root}: {', '.join(conflicts)} already exist"
            if len(conflicts) > 1
            else f"{plan.project.root / conflicts[0]} already exists",
            hint="nothing was written; see the change with --diff, overwrite with --force",
        )
    if write:
        write_all(changes)
    return InitResult(
        plan=plan, changes=tuple(changes), written=write, notes=_lost_sources(plan, changes)
    )


def _lost_sources(plan: BuildPlan, changes: list[FileChange]) -> tuple[str, ...]:
    """A note when the file the start command was read from is the one being overwritten:
    the next plan cannot read it again (uvdock does not read back what it wrote)."""
    entry = plan.entrypoint
    if entry is None:
        return ()
    source = entry.source.split(":", 1)[0]
    overwritten = {c.name for c in changes if c.action == "overwrite"}
    if source not in overwritten:
        return ()
    command = shlex.join(entry.value.argv)
    note = (
        f"the command came from {entry.source}, which this overwrites: to keep it when "
        f"uvdock plans again, set [tool.uvdock] command = {json.dumps(command)}"
    )
    return (note,)
