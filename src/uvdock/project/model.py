"""Facts about a project, each with the file (and line) it came from."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

from uvdock._types import Sourced

__all__ = ["Sourced"]

DependencySource = Literal["uv", "requirements", "pyproject"]
LockState = Literal["fresh", "stale", "missing", "not-applicable"]
GitScheme = Literal["ssh", "https", "http", "file", "other"]
EntrypointKind = Literal["command", "procfile", "asgi", "wsgi", "django", "script", "module"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Entrypoint:
    """How the container starts the app, found by reading the project."""

    kind: EntrypointKind
    argv: tuple[str, ...]
    dev_argv: tuple[str, ...]
    http: bool
    target: str | None = None
    health_path: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    how: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PackageIndex:
    """A ``[[tool.uv.index]]`` entry."""

    name: str | None
    url: str
    explicit: bool
    authenticate: str  # "auto" | "always" | "never"
    line: int | None

    @property
    def env_prefix(self) -> str | None:
        """uv's credential variable prefix, ``UV_INDEX_<NAME>_``."""
        if self.name is None:
            return None
        normalized = "".join(c if c.isalnum() else "_" for c in self.name).upper()
        return f"UV_INDEX_{normalized}_"


@dataclasses.dataclass(frozen=True, kw_only=True)
class GitSource:
    """A dependency fetched with git."""

    package: str
    url: str
    scheme: GitScheme
    source: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkspaceMember:
    name: str
    path: Path  # relative to the project root
    build_requires: tuple[str, ...] = ()  # [build-system] requires; () if not a package


@dataclasses.dataclass(frozen=True, kw_only=True)
class LockedFile:
    """One distribution file recorded in ``uv.lock``."""

    filename: str
    url: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class LockedDependency:
    name: str
    version: str | None
    marker: str | None
    extras: tuple[str, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class LockedPackage:
    name: str
    version: str | None
    source_kind: str  # registry | git | editable | virtual | directory | path | url
    source_url: str | None
    sdist: bool
    wheels: tuple[LockedFile, ...]
    dependencies: tuple[LockedDependency, ...]
    optional: tuple[tuple[str, tuple[LockedDependency, ...]], ...]

    @property
    def is_local_project(self) -> bool:
        return self.source_kind in {"editable", "virtual"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class LockInfo:
    path: Path
    packages: tuple[LockedPackage, ...]
    requires_python: str | None
    state: LockState
    stale_reason: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProjectInfo:
    """Everything detection learned about a project directory."""

    root: Path
    name: str
    version: str | None
    description: str | None
    license: str | None
    source_url: str | None
    dependency_source: Sourced[DependencySource]
    requirements_file: Path | None
    requirements_hashed: bool
    lock: LockInfo | None
    packaged: bool
    python_pin: Sourced[str] | None  # from .python-version
    requires_python: Sourced[str] | None
    uv_required_version: Sourced[str] | None
    workspace_members: tuple[WorkspaceMember, ...]
    indexes: tuple[PackageIndex, ...]
    git_sources: tuple[GitSource, ...]
    dependency_names: frozenset[str]
    entrypoint: Sourced[Entrypoint] | None
    entrypoint_problem: str | None
    referenced_files: tuple[str, ...]  # readme/license files pyproject.toml points at
    vcs_versioning: bool
    source_dirs: tuple[str, ...]  # top-level directories holding the code (dev bind mounts)
    # What building the project and its workspace members needs ([build-system]
    # requires), in order, without duplicates.
    build_requires: tuple[str, ...] = ()
    uvdock_table: dict[str, object]
    pyproject_text: str | None
    notes: tuple[str, ...] = ()

    @property
    def is_workspace(self) -> bool:
        return bool(self.workspace_members)
