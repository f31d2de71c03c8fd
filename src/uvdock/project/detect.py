"""Turn a project directory into ``ProjectInfo``: files only, no code is run."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.utils import canonicalize_name

from uvdock._toml import line_of_key
from uvdock.config import DEFAULT_PYTHON, Settings
from uvdock.errors import ConfigError, ProjectError
from uvdock.project.dependencies import (
    DEV_GROUPS,
    declared_default_groups,
    dependency_names,
    dependency_source,
    production_groups,
)
from uvdock.project.documents import read_pyproject as read_pyproject_file
from uvdock.project.entrypoint import detect_entrypoint, find_entrypoint
from uvdock.project.entrysearch import HTTP_SERVERS, Detection
from uvdock.project.facts import is_packaged
from uvdock.project.layout import Layout, find_layout, referenced_in_context, workspace_members
from uvdock.project.lockfile import installed_packages, lock_info
from uvdock.project.model import Entrypoint, LockInfo, ProjectInfo, Sourced, WorkspaceMember
from uvdock.project.packagesources import (
    all_build_requires,
    git_sources,
    local_build_systems,
    local_packages,
    package_indexes,
)
from uvdock.project.readfile import SMALL_LIMIT, exists, read_text
from uvdock.project.startcmd import dockerfile_python

_VCS_BACKENDS = ("hatch-vcs", "setuptools-scm", "setuptools_scm", "uv-dynamic-versioning",
                 "versioningit", "dunamai", "poetry-dynamic-versioning")  # fmt: skip
_PYTHON_MINOR = re.compile(r"^(?:cpython-|cp)?(\d+)\.(\d+)")


def check_directory(root: Path) -> None:
    if not root.exists():
        raise ProjectError(f"{root}: no such directory", hint="pass the path of a project")
    if not root.is_dir():
        raise ProjectError(f"{root}: not a directory", hint="pass the project's directory")
    try:
        with os.scandir(root) as entries:
            next(entries, None)
    except PermissionError:
        raise ProjectError(
            f"{root}: cannot read the directory (permission denied)",
            hint="run as a user who can read it, or fix its permissions",
        ) from None


def read_pyproject(root: Path) -> tuple[dict[str, Any] | None, str | None]:
    path = root / "pyproject.toml"
    if not exists(path):
        return None, None
    data, text = read_pyproject_file(path)
    return data, text


def _python_pin(root: Path) -> Sourced[str] | None:
    path = root / ".python-version"
    if not exists(path):
        return None
    for number, raw in enumerate(read_text(path, limit=SMALL_LIMIT).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _PYTHON_MINOR.match(line)
        if not match:
            raise ConfigError(
                f"cannot read a CPython version from {line!r}",
                path=path,
                line=number,
                hint='write a version such as "3.13"',
            )
        return Sourced(f"{match.group(1)}.{match.group(2)}", f".python-version:{number}")
    return None


_NOT_SOURCE = {"tests", "test", "docs", "doc", "build", "dist", "node_modules", "venv", "site"}


def _source_dirs(root: Path, members: tuple[WorkspaceMember, ...]) -> tuple[str, ...]:
    """Top-level directories that hold the project's code: what the dev setup mounts live."""
    found: set[str] = set()
    for child in root.iterdir():
        name = child.name
        if not child.is_dir() or name.startswith((".", "_")) or name in _NOT_SOURCE:
            continue
        if name == "src" or (child / "__init__.py").is_file():
            found.add(name)
    for member in members:
        found.add(member.path.parts[0])
    return tuple(sorted(found))


def _license(pyproject: Mapping[str, Any] | None) -> str | None:
    license_ = (pyproject or {}).get("project", {}).get("license")
    if isinstance(license_, str):
        return license_
    if isinstance(license_, dict) and isinstance(license_.get("text"), str):
        text: str = license_["text"]
        return text if len(text) < 40 and "\n" not in text else None  # noqa: PLR2004
    return None


def _source_url(pyproject: Mapping[str, Any] | None) -> str | None:
    urls = (pyproject or {}).get("project", {}).get("urls", {})
    if not isinstance(urls, dict):
        return None
    for key in ("Source", "Repository", "source", "repository", "Homepage", "homepage"):
        if isinstance(urls.get(key), str):
            return str(urls[key])
    return None


def _vcs_versioning(pyproject: Mapping[str, Any] | None) -> bool:
    data = pyproject or {}
    if "version" not in data.get("project", {}).get("dynamic", ()):
        return False
    requires = " ".join(str(r) for r in data.get("build-system", {}).get("requires", ()))
    return any(backend in requires for backend in _VCS_BACKENDS)


def _python_pin_upwards(app_dir: Path, context: Path) -> Sourced[str] | None:
    """``.python-version`` in the project's directory, else up to the workspace root (uv's way)."""
    directory = app_dir.resolve()
    stop = context.resolve()
    while True:
        pin = _python_pin(directory)
        if pin is not None:
            if directory != app_dir.resolve():
                where = directory.relative_to(stop).as_posix()
                prefix = "" if where == "." else f"{where}/"
                return Sourced(pin.value, prefix + pin.source)
            return pin
        if directory in {stop, directory.parent}:
            return None
        directory = directory.parent


def _requires_python(
    layout: Layout, lock: LockInfo | None, text: str | None
) -> Sourced[str] | None:
    """The app's requires-python; in a workspace, the lock's (the members' intersection)."""
    project_table = (layout.app_pyproject or {}).get("project", {})
    if layout.members and lock is not None and lock.requires_python:
        return Sourced(lock.requires_python, "uv.lock (the workspace's requires-python)")
    if isinstance(project_table.get("requires-python"), str):
        line = line_of_key(text or "", "project", "requires-python")
        return Sourced(
            str(project_table["requires-python"]),
            f"pyproject.toml:{line}" if line else "pyproject.toml",
        )
    if lock is not None and lock.requires_python:
        return Sourced(lock.requires_python, "uv.lock")
    return None


def _scripts(
    pyproject: Mapping[str, Any] | None, text: str | None
) -> Sourced[dict[str, str]] | None:
    table = (pyproject or {}).get("project", {}).get("scripts")
    if not isinstance(table, dict) or not table:
        return None
    line = line_of_key(text or "", "project.scripts")
    return Sourced(
        {str(k): str(v) for k, v in table.items()},
        f"pyproject.toml:{line}" if line else "pyproject.toml",
    )


def _relative(path: Path, start: Path) -> PurePosixPath:
    return PurePosixPath(path.resolve().relative_to(start.resolve()).as_posix())


def detect_project(
    root: Path,
    *,
    settings: Settings,
    pyproject: Mapping[str, Any] | None,
    pyproject_text: str | None,
) -> ProjectInfo:
    """Read ``root`` into ProjectInfo; raises ProjectError for what cannot be planned."""
    check_directory(root)
    layout = find_layout(root, pyproject=pyproject, text=pyproject_text, settings=settings)
    context = layout.context
    source, requirements, notes = dependency_source(context, layout.context_pyproject, settings)
    notes = [*layout.notes, *notes]
    app, app_text = layout.app_pyproject, layout.app_text
    project_table = (app or {}).get("project", {})
    tool_uv = (layout.context_pyproject or {}).get("tool", {}).get("uv", {})

    lock = None
    if source.value == "uv":
        lock = lock_info(context / "uv.lock")
    name = str(project_table.get("name") or layout.app_dir.resolve().name)
    packaged = app is not None and is_packaged(app)
    if source.value == "requirements":
        packaged = False

    uv_required = None
    if isinstance(tool_uv.get("required-version"), str):
        line = line_of_key(layout.context_text or "", "tool.uv", "required-version")
        uv_required = Sourced(
            str(tool_uv["required-version"]), f"pyproject.toml:{line}" if line else "pyproject.toml"
        )

    members = workspace_members(layout)
    python_pin = _python_pin_upwards(layout.app_dir, context)
    extras = tuple(settings.get("extras"))
    _check_selection(settings, app, where=layout.app_dir / "pyproject.toml")
    groups = production_groups(
        settings,
        default_groups=declared_default_groups(app),
        dependency_groups=tuple(str(g) for g in (app or {}).get("dependency-groups", {})),
    )
    roots = [m.name for m in members] if layout.virtual_root else [layout.package or name]
    deps, hashed = dependency_names(
        source.value,
        lock=lock,
        pyproject=app,
        requirements=requirements,
        roots=roots,
        python=python_pin.value if python_pin else DEFAULT_PYTHON,
        extras=extras,
        groups=groups.value if groups else (),
    )
    workdir = "" if packaged else _relative(layout.app_dir, context).as_posix()
    workdir = "" if workdir == "." or layout.package else workdir
    detection = find_entrypoint(
        root=layout.app_dir,
        command=_command(settings),
        port=int(settings.get("port")),
        scripts=_scripts(app, app_text),
        deps=deps,
        packaged=packaged,
        http_override=settings.get("http"),
        workdir_path=workdir,
    )
    entrypoint, problem = _with_detection_facts(detection), detection.problem
    notes += detection.notes
    extras_fact: Sourced[tuple[str, ...]] | None = None
    if extras:
        extras_fact = Sourced(extras, settings.sourced("extras").source)
    elif entrypoint is None and lock is not None and settings.get("groups") is None:
        # The server may come with an optional dependency of the app (a "server" extra)
        # or a dependency group meant for production (a "prod" group).
        found = _entrypoint_through_an_option(
            layout, lock=lock, roots=roots, deps=deps, settings=settings, packaged=packaged,
            groups=groups.value if groups else (),
        )  # fmt: skip
        if found is not None:
            entrypoint, kind, option, with_option = found
            problem = None
            servers = ", ".join(sorted((with_option - deps) & HTTP_SERVERS))
            deps = with_option
            why = f"{servers} comes with the {kind} {option!r} of the app: installed"
            if kind == "extra":
                extras_fact = Sourced((option,), why + " with --extra")
            else:
                groups = Sourced((*(groups.value if groups else ()), option), why)
    local_systems = local_build_systems(lock, context)
    local_names = local_packages(
        lock,
        roots=roots,
        name=name,
        extras=extras_fact.value if extras_fact else (),
        groups=groups.value if groups else (),
    )
    table = (pyproject or {}).get("tool", {}).get("uvdock", {})
    return ProjectInfo(
        root=root,
        context=context,
        package=layout.package,
        app_path=_relative(layout.app_dir, context),
        virtual_root=layout.virtual_root,
        name=name,
        version=str(project_table["version"]) if "version" in project_table else None,
        description=project_table.get("description"),
        license=_license(app),
        source_url=_source_url(app),
        dependency_source=source,
        requirements_file=requirements,
        requirements_hashed=hashed,
        lock=lock,
        packaged=packaged,
        python_pin=python_pin,
        requires_python=_requires_python(layout, lock, app_text),
        uv_required_version=uv_required,
        workspace_members=members,
        indexes=package_indexes(layout.context_pyproject, layout.context_text),
        git_sources=git_sources(lock, app),
        dependency_names=deps,
        entrypoint=entrypoint,
        entrypoint_problem=problem,
        entrypoint_candidates=detection.candidates,
        referenced_files=referenced_in_context(layout),
        vcs_versioning=_vcs_versioning(app),
        source_dirs=_source_dirs(layout.app_dir, members if not layout.package else ()),
        build_requires=all_build_requires(
            app,
            packaged=packaged,
            members=members,
            local=[system for pkg, system in local_systems.items() if pkg in local_names],
        ),
        uvdock_table=dict(table) if isinstance(table, dict) else {},
        pyproject_text=pyproject_text,
        notes=tuple(notes),
        local_build_systems=local_systems,
        default_groups=declared_default_groups(app),
        dockerfile_python=_dockerfile_python(layout.app_dir),
        groups=groups,
        extras=extras_fact,
        local_packages=local_names,
    )


def _with_detection_facts(detection: Detection) -> Sourced[Entrypoint] | None:
    """The entrypoint with the port, protocol and files detection learned on the way."""
    found = detection.entrypoint
    if found is None:
        return None
    return Sourced(
        dataclasses.replace(
            found.value,
            port=detection.port,
            protocol="uwsgi" if detection.protocol == "uwsgi" else "http",
            files=detection.files,
        ),
        found.source,
    )


def _check_selection(settings: Settings, app: Mapping[str, Any] | None, *, where: Path) -> None:
    """``--extra`` and ``--group`` must name what the app declares (uv fails late otherwise)."""
    project = (app or {}).get("project", {})
    declared = {
        "extras": [str(e) for e in project.get("optional-dependencies", {})],
        "groups": [
            *(str(g) for g in (app or {}).get("dependency-groups", {})),
            *(["dev"] if (app or {}).get("tool", {}).get("uv", {}).get("dev-dependencies") else []),
        ],
    }
    for setting, kind in (("extras", "extra"), ("groups", "dependency group")):
        given = settings.sourced(setting)
        known = {canonicalize_name(n) for n in declared[setting]}
        for name in given.value or ():
            if canonicalize_name(name) not in known:
                listed = ", ".join(declared[setting]) or "none"
                raise ConfigError(
                    f"{given.source} {name}: {where} declares no {kind} {name!r} "
                    f"(it has: {listed})",
                    hint=f"name one of its {kind}s",
                )


def _dockerfile_python(app_dir: Path) -> Sourced[str] | None:
    found = dockerfile_python(app_dir)
    return Sourced(found[0], found[1]) if found else None


def _command(settings: Settings) -> Sourced[str | list[str]] | None:
    command = settings.sourced("command")
    return command if command.value is not None else None


def _entrypoint_through_an_option(
    layout: Layout,
    *,
    lock: LockInfo,
    roots: list[str],
    deps: frozenset[str],
    settings: Settings,
    packaged: bool,
    groups: tuple[str, ...],
) -> tuple[Sourced[Entrypoint], str, str, frozenset[str]] | None:
    """An entrypoint whose server only an extra or a dependency group of the app installs.

    Returns the entrypoint, ``"extra"`` or ``"group"``, its name, and what is installed
    with it. Options named like development tools (``dev``, ``test``, ...) are skipped.
    """
    app = next((p for p in lock.packages if p.name in {canonicalize_name(r) for r in roots}), None)
    if app is None:
        return None
    options = [("extra", name) for name, _ in app.optional]
    options += [("group", name) for name, _ in app.groups if name not in groups]
    for kind, name in options:
        if canonicalize_name(name) in DEV_GROUPS:
            continue
        with_option = frozenset(
            p.name
            for p in installed_packages(
                lock.packages, roots=roots, python=DEFAULT_PYTHON, platform="linux/amd64",
                extras=(name,) if kind == "extra" else (),
                groups=(*groups, name) if kind == "group" else groups,
            )
        )  # fmt: skip
        if not (with_option - deps) & HTTP_SERVERS:
            continue
        entrypoint, _ = detect_entrypoint(
            root=layout.app_dir,
            command=None,
            port=int(settings.get("port")),
            scripts=_scripts(layout.app_pyproject, layout.app_text),
            deps=with_option,
            packaged=packaged,
            http_override=settings.get("http"),
        )
        if entrypoint is not None:
            return entrypoint, kind, name, with_option
    return None
