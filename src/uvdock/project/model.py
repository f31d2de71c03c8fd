"""Facts about a project, each with the file (and line) it came from."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Literal

from uvdock._types import Sourced

__all__ = ["Sourced"]

DependencySource = Literal["uv", "requirements", "pyproject"]
LockState = Literal["fresh", "stale", "unknown", "missing", "not-applicable"]
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
    # The port the command itself listens on (a --port, a config file's bind), if fixed.
    port: int | None = None
    # "uwsgi": a uWSGI socket that speaks the uwsgi protocol, not HTTP (a TCP check only).
    protocol: Literal["http", "uwsgi"] = "http"
    # Project files the command reads at run time (config files, a script), relative to
    # the app's directory: an installed package's image copies them to /app.
    files: tuple[str, ...] = ()


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
    # The source when the lock holds several packages of this name (torch from PyPI and
    # from PyTorch's index): the registry URL or other source value, as packages have it.
    source: str | None = None


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
    groups: tuple[tuple[str, tuple[LockedDependency, ...]], ...] = ()  # [package.dev-dependencies]
    sdist_url: str | None = None  # where the sdist is (a URL, or a path relative to the lock)
    sdist_hash: str | None = None  # "sha256:<hex>" as uv.lock records it

    @property
    def is_local_project(self) -> bool:
        return self.source_kind in {"editable", "virtual"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuildSystem:
    """A ``[build-system]`` table and where it was read."""

    requires: tuple[str, ...]
    backend: str | None
    source: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class LockInfo:
    path: Path
    packages: tuple[LockedPackage, ...]
    requires_python: str | None
    state: LockState
    stale_reason: str | None = None
    # [tool.uv] environments as the lock records them: the platforms it covers.
    supported_markers: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProjectInfo:
    """Everything detection learned about a project directory."""

    root: Path  # the directory uvdock was pointed at: generated files go here
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
    # When several commands could start the app: each, to choose from with --command.
    entrypoint_candidates: tuple[str, ...] = ()
    referenced_files: tuple[str, ...]  # readme/license files pyproject.toml points at
    vcs_versioning: bool
    source_dirs: tuple[str, ...]  # top-level directories holding the code (dev bind mounts)
    # What building the project and its workspace members needs ([build-system]
    # requires), in order, without duplicates.
    build_requires: tuple[str, ...] = ()
    uvdock_table: dict[str, object]
    pyproject_text: str | None
    notes: tuple[str, ...] = ()
    # The [build-system] of locked packages whose source is a local directory.
    local_build_systems: Mapping[str, BuildSystem] = dataclasses.field(default_factory=dict)
    # A virtual workspace root (no [project]) with no member chosen as the app:
    # `uv sync` there installs every member.
    virtual_root: bool = False
    # The build context: the workspace root in a workspace, else ``root``.
    context: Path
    # The workspace member that is the app (``uv sync --package``), if not the root.
    package: str | None = None
    # The app project's directory, relative to the context ("." for the root).
    app_path: PurePosixPath
    # [tool.uv] default-groups, when the project sets it ("all" stays as it is).
    default_groups: tuple[str, ...] = ()
    # The dependency groups the image installs; None: uv's default without dev (--no-dev).
    groups: Sourced[tuple[str, ...]] | None = None
    # The Python the project's own Dockerfile runs on (its final FROM), if it says.
    dockerfile_python: Sourced[str] | None = None
    # The optional dependencies the image installs (--extra), and why.
    extras: Sourced[tuple[str, ...]] | None = None
    # Workspace members and local path dependencies the app installs (names).
    local_packages: tuple[str, ...] = ()

    @property
    def is_workspace(self) -> bool:
        return bool(self.workspace_members)

    @property
    def extra_names(self) -> tuple[str, ...]:
        return self.extras.value if self.extras is not None else ()

    @property
    def group_names(self) -> tuple[str, ...]:
        return self.groups.value if self.groups is not None else ()

    @property
    def install_roots(self) -> tuple[str, ...]:
        """The locked packages ``uv sync`` starts from (their dependencies follow)."""
        if self.virtual_root:
            return tuple(m.name for m in self.workspace_members)
        return (self.package or self.name,)

    @property
    def installs_local(self) -> bool:
        """Whether the build installs something from the context: the project, workspace
        members or path dependencies (the project stage; the daemonless project layer)."""
        return self.packaged or self.is_workspace or bool(self.local_packages)

    @property
    def context_from_root(self) -> str:
        """The context as a path relative to ``root`` (``..`` from a member's directory)."""
        return Path(os.path.relpath(self.context.resolve(), self.root.resolve())).as_posix()

    @property
    def in_subdirectory(self) -> bool:
        """Whether the generated files live below the build context (a member's directory)."""
        return self.root.resolve() != self.context.resolve()
