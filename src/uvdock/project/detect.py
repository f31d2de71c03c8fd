"""Turn a project directory into ``ProjectInfo``: files only, no code is run."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from uvdock._toml import line_of_key
from uvdock.config import DEFAULT_PYTHON, Settings
from uvdock.errors import ConfigError, ProjectError
from uvdock.project.documents import read_pyproject as read_pyproject_file
from uvdock.project.entrypoint import HTTP_SERVERS, Detection, detect_entrypoint, find_entrypoint
from uvdock.project.facts import is_packaged, referenced_files
from uvdock.project.lockfile import installed_packages, lock_info
from uvdock.project.model import (
    BuildSystem,
    DependencySource,
    Entrypoint,
    GitScheme,
    GitSource,
    LockInfo,
    PackageIndex,
    ProjectInfo,
    Sourced,
    WorkspaceMember,
)
from uvdock.project.readfile import MANIFEST_LIMIT, SMALL_LIMIT, exists, read_text
from uvdock.project.schema import control_character
from uvdock.project.servers import distributions_from_requirements
from uvdock.project.startcmd import dockerfile_python
from uvdock.project.workspace import Member, find_root, members

_DEV_REQUIREMENTS = re.compile(r"(dev|test|tests|lint|docs|doc|ci|typing)", re.IGNORECASE)
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


def _requirements_file(root: Path) -> tuple[Path | None, list[str]]:
    notes: list[str] = []
    for path in root.glob("requirements*.txt"):
        # The name is copied into the Dockerfile: a newline there would start an instruction.
        wrong = control_character(path.name)
        if wrong:
            raise ConfigError(
                f"the file name {path.name!r} {wrong}",
                path=root,
                hint="rename the requirements file",
            )
    main = root / "requirements.txt"
    if exists(main):
        others = sorted(p.name for p in root.glob("requirements*.txt") if p != main)
        if others:
            notes.append(f"ignored for the image: {', '.join(others)} (requirements.txt is used)")
        return main, notes
    candidates = sorted(
        p for p in root.glob("requirements*.txt") if not _DEV_REQUIREMENTS.search(p.stem[12:])
    )
    if len(candidates) == 1:
        return candidates[0], notes
    return None, notes


def _dependency_source(
    root: Path, pyproject: Mapping[str, Any] | None, settings: Settings
) -> tuple[Sourced[DependencySource], Path | None, list[str]]:
    # exists, not is_file: a uv.lock that is a FIFO or a directory is reported when read.
    has_lock = exists(root / "uv.lock")
    has_project = pyproject is not None and isinstance(pyproject.get("project"), dict)
    requirements, notes = _requirements_file(root)
    foreign = [name for name in ("poetry.lock", "Pipfile.lock") if (root / name).is_file()]

    explicit = settings.sourced("source")
    if explicit.value is not None:
        choice: DependencySource = explicit.value
        if choice == "uv" and not has_lock:
            raise ProjectError(
                f"{explicit.source} uv: there is no uv.lock in {root}", hint="run `uv lock`"
            )
        if choice == "requirements" and requirements is None:
            raise ProjectError(f"{explicit.source} requirements: no requirements.txt in {root}")
        if choice == "pyproject" and not has_project:
            raise ProjectError(f"{explicit.source} pyproject: no [project] table in {root}")
        return Sourced(choice, explicit.source), requirements, notes

    found: list[tuple[DependencySource | str, str]] = []
    if has_lock:
        found.append(("uv", "uv.lock"))
    elif has_project:
        found.append(("pyproject", "pyproject.toml"))
    if requirements is not None:
        found.append(("requirements", requirements.name))
    found.extend((name, name) for name in foreign)

    if len(found) > 1:
        names = " and ".join(f for _, f in found)
        selectable = [k for k, _ in found if k in ("uv", "requirements", "pyproject")]
        raise ProjectError(
            f"{root}: several dependency sources ({names})",
            hint=f"choose one with --source {' or --source '.join(selectable) or 'uv'} "
            "(or [tool.uvdock] source)",
        )
    if not found:
        raise ProjectError(
            f"{root}: no dependency source (uv.lock, pyproject.toml or requirements.txt)",
            hint="run `uv init` and `uv lock`, or add a requirements.txt",
        )
    kind, filename = found[0]
    if kind in ("poetry.lock", "Pipfile.lock"):
        tool = "Poetry" if kind == "poetry.lock" else "Pipenv"
        raise ProjectError(
            f"{root / filename}: {tool} projects are not supported yet",
            hint="migrate to uv with `uvx migrate-to-uv` then `uv lock`, or export a "
            "requirements.txt and use --source requirements",
        )
    source: DependencySource = (
        "uv" if kind == "uv" else ("pyproject" if kind == "pyproject" else "requirements")
    )
    return Sourced(source, filename), requirements, notes


def _requirement_lines(path: Path) -> list[str]:
    lines: list[str] = []
    pending = ""
    # Up to the lock's size limit: a requirements.txt with hashes is a lock.
    for raw in read_text(path, limit=MANIFEST_LIMIT).splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            lines.append(line)
    return lines


def _requirements_facts(path: Path) -> tuple[frozenset[str], bool]:
    names: set[str] = set()
    hashed = True
    any_requirement = False
    for line in _requirement_lines(path):
        if line.startswith("-"):
            continue
        any_requirement = True
        if "--hash=" not in line:
            hashed = False
        spec = line.split(" --hash", 1)[0].split(";")[0].strip()
        try:
            names.add(canonicalize_name(Requirement(spec).name))
        except InvalidRequirement:
            continue
    return frozenset(names), hashed and any_requirement


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


# What uv builds a package with when it declares no [build-system] (PEP 517's
# fallback, which uv follows).
_LEGACY_BUILD_REQUIRES = ("setuptools>=40.8.0",)


def _build_requires(pyproject: Mapping[str, Any], *, packaged: bool) -> tuple[str, ...]:
    if not packaged:
        return ()
    system = pyproject.get("build-system")
    if not isinstance(system, dict) or "requires" not in system:
        return _LEGACY_BUILD_REQUIRES
    return tuple(str(r) for r in system.get("requires", ()))


def _indexes(pyproject: Mapping[str, Any] | None, text: str | None) -> tuple[PackageIndex, ...]:
    entries = (pyproject or {}).get("tool", {}).get("uv", {}).get("index", ())
    header_lines = [
        number
        for number, line in enumerate((text or "").splitlines(), start=1)
        if line.strip().startswith("[[tool.uv.index]]")
    ]
    indexes = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or "url" not in entry:
            continue
        indexes.append(
            PackageIndex(
                name=entry.get("name"),
                url=str(entry["url"]),
                explicit=bool(entry.get("explicit", False)),
                authenticate=str(entry.get("authenticate", "auto")),
                line=header_lines[position] if position < len(header_lines) else None,
            )
        )
    return tuple(indexes)


def _git_scheme(url: str) -> GitScheme:
    bare = url.removeprefix("git+")
    if bare.startswith("ssh://") or re.match(r"^[\w.-]+@[\w.-]+:", bare):
        return "ssh"
    for scheme in ("https", "http", "file"):
        if bare.startswith(f"{scheme}://"):
            return scheme
    return "other"


def _git_sources(
    lock: LockInfo | None, pyproject: Mapping[str, Any] | None
) -> tuple[GitSource, ...]:
    found: dict[str, GitSource] = {}
    if lock is not None:
        for package in lock.packages:
            if package.source_kind == "git" and package.source_url:
                found[package.name] = GitSource(
                    package=package.name,
                    url=package.source_url,
                    scheme=_git_scheme(package.source_url),
                    source="uv.lock",
                )
    if pyproject is not None:
        for text in pyproject.get("project", {}).get("dependencies", ()):
            try:
                req = Requirement(str(text))
            except InvalidRequirement:
                continue
            if req.url and req.url.startswith("git+"):
                name = canonicalize_name(req.name)
                found.setdefault(
                    name,
                    GitSource(
                        package=name,
                        url=req.url,
                        scheme=_git_scheme(req.url),
                        source="pyproject.toml [project] dependencies",
                    ),
                )
        sources = pyproject.get("tool", {}).get("uv", {}).get("sources", {})
        for name, spec in sources.items():
            for entry in spec if isinstance(spec, list) else [spec]:
                if isinstance(entry, dict) and "git" in entry:
                    key = canonicalize_name(name)
                    found.setdefault(
                        key,
                        GitSource(
                            package=key,
                            url=str(entry["git"]),
                            scheme=_git_scheme(str(entry["git"])),
                            source="pyproject.toml [tool.uv.sources]",
                        ),
                    )
    return tuple(found[name] for name in sorted(found))


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


def _dependency_names(
    source: DependencySource,
    *,
    lock: LockInfo | None,
    pyproject: Mapping[str, Any] | None,
    requirements: Path | None,
    roots: list[str],
    python: str,
    extras: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
) -> tuple[frozenset[str], bool]:
    if source == "requirements" and requirements is not None:
        return _requirements_facts(requirements)
    if source == "uv" and lock is not None:
        installed = installed_packages(
            lock.packages,
            roots=roots,
            python=python,
            platform="linux/amd64",
            extras=extras,
            groups=groups,
        )
        names = frozenset(p.name for p in installed)
        if lock.state == "stale":
            # A lock that is not this project's (a stub, an old one) says too little:
            # add what pyproject.toml declares, so the command is still found.
            declared = [
                str(t) for t in (pyproject or {}).get("project", {}).get("dependencies", ())
            ]
            names |= distributions_from_requirements(declared)
        return names, False
    # No lock: what [project] dependencies bring in, extras included, as far as known.
    requirements_text = [
        str(t) for t in (pyproject or {}).get("project", {}).get("dependencies", ())
    ]
    return distributions_from_requirements(requirements_text), False


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Layout:
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


def _single_project(root: Path, pyproject: Mapping[str, Any] | None, text: str | None) -> _Layout:
    return _Layout(
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


def _layout(
    root: Path,
    *,
    pyproject: Mapping[str, Any] | None,
    text: str | None,
    settings: Settings,
) -> _Layout:
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
    base = _Layout(
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
    layout: _Layout, lock: LockInfo | None, text: str | None
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


def _local_build_systems(lock: LockInfo | None, context: Path) -> dict[str, BuildSystem]:
    """The [build-system] of locked packages whose source is a directory in the context."""
    found: dict[str, BuildSystem] = {}
    for package in lock.packages if lock is not None else ():
        if package.source_kind not in {"directory", "editable", "path"} or not package.source_url:
            continue
        manifest = context / package.source_url / "pyproject.toml"
        try:
            data, _ = read_pyproject_file(manifest)
        except ConfigError:
            continue  # not there, or broken: uv reports it when it builds the package
        system = data.get("build-system", {})
        requires = system.get("requires", ()) if isinstance(system, dict) else ()
        backend = system.get("build-backend") if isinstance(system, dict) else None
        found[package.name] = BuildSystem(
            requires=tuple(str(r) for r in requires),
            backend=str(backend) if isinstance(backend, str) else None,
            source=f"{package.source_url}/pyproject.toml [build-system]",
        )
    return found


def _workspace_members(layout: _Layout) -> tuple[WorkspaceMember, ...]:
    return tuple(
        WorkspaceMember(
            name=m.name,
            path=Path(m.path),
            build_requires=_build_requires(m.pyproject, packaged=is_packaged(m.pyproject)),
        )
        for m in layout.members
    )


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


def _referenced_in_context(layout: _Layout) -> tuple[str, ...]:
    """README/licence files every built project's pyproject.toml names, from the context."""
    found = list(referenced_files(layout.context_pyproject))
    for member in layout.members:
        found.extend(f"{member.path}/{f}" for f in referenced_files(member.pyproject))
    return tuple(dict.fromkeys(found))


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
    layout = _layout(root, pyproject=pyproject, text=pyproject_text, settings=settings)
    context = layout.context
    source, requirements, notes = _dependency_source(context, layout.context_pyproject, settings)
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

    members = _workspace_members(layout)
    python_pin = _python_pin_upwards(layout.app_dir, context)
    extras = tuple(settings.get("extras"))
    _check_selection(settings, app, where=layout.app_dir / "pyproject.toml")
    groups = production_groups(
        settings,
        default_groups=_default_groups(app),
        dependency_groups=tuple(str(g) for g in (app or {}).get("dependency-groups", {})),
    )
    roots = [m.name for m in members] if layout.virtual_root else [layout.package or name]
    deps, hashed = _dependency_names(
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
    local_systems = _local_build_systems(lock, context)
    local_names = _local_packages(
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
        indexes=_indexes(layout.context_pyproject, layout.context_text),
        git_sources=_git_sources(lock, app),
        dependency_names=deps,
        entrypoint=entrypoint,
        entrypoint_problem=problem,
        entrypoint_candidates=detection.candidates,
        referenced_files=_referenced_in_context(layout),
        vcs_versioning=_vcs_versioning(app),
        source_dirs=_source_dirs(layout.app_dir, members if not layout.package else ()),
        build_requires=_all_build_requires(
            app,
            packaged=packaged,
            members=members,
            local=[system for pkg, system in local_systems.items() if pkg in local_names],
        ),
        uvdock_table=dict(table) if isinstance(table, dict) else {},
        pyproject_text=pyproject_text,
        notes=tuple(notes),
        local_build_systems=local_systems,
        default_groups=_default_groups(app),
        dockerfile_python=_dockerfile_python(layout.app_dir),
        groups=groups,
        extras=extras_fact,
        local_packages=local_names,
    )


# Group names that are for developing, never for running the app.
_DEV_GROUPS = frozenset({
    "dev", "develop", "development", "test", "tests", "testing", "lint", "linting", "linters",
    "docs", "doc", "documentation", "typing", "types", "mypy", "ci", "coverage", "format",
    "formatting", "pre-commit", "debug", "profiling", "bench", "benchmark", "benchmarks",
    "check", "checks", "qa", "style", "notebook", "notebooks", "release",
})  # fmt: skip


def production_groups(
    settings: Settings, *, default_groups: tuple[str, ...], dependency_groups: tuple[str, ...]
) -> Sourced[tuple[str, ...]] | None:
    """The dependency groups the image gets: none, unless the project says otherwise."""
    given = settings.sourced("groups")
    if given.value is not None:
        return Sourced(tuple(given.value), given.source)
    defaults = default_groups
    if not defaults:
        return None  # uv's default groups are just `dev`: --no-dev leaves it out
    if defaults == ("all",):
        defaults = dependency_groups
    kept = tuple(g for g in defaults if canonicalize_name(g) not in _DEV_GROUPS)
    left = [g for g in defaults if g not in kept]
    why = "[tool.uv] default-groups"
    if left:
        why += f" without {', '.join(left)} (for development)"
    return Sourced(kept, why)


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
    layout: _Layout,
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
        if canonicalize_name(name) in _DEV_GROUPS:
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


def _default_groups(pyproject: Mapping[str, Any] | None) -> tuple[str, ...]:
    groups = (pyproject or {}).get("tool", {}).get("uv", {}).get("default-groups")
    if groups == "all":
        return ("all",)
    return tuple(str(g) for g in groups) if isinstance(groups, list) else ()


_LOCAL_SOURCES = frozenset({"editable", "directory", "virtual", "path"})


def _local_packages(
    lock: LockInfo | None,
    *,
    roots: list[str],
    name: str,
    extras: tuple[str, ...],
    groups: tuple[str, ...],
) -> tuple[str, ...]:
    """Installed packages that come from the build context: members and path dependencies."""
    if lock is None:
        return ()
    found: set[str] = set()
    for platform in ("linux/amd64", "linux/arm64"):
        installed = installed_packages(
            lock.packages,
            roots=roots,
            python=DEFAULT_PYTHON,
            platform=platform,
            extras=extras,
            groups=groups,
        )
        found.update(p.name for p in installed if p.source_kind in _LOCAL_SOURCES)
    found.discard(canonicalize_name(name))
    return tuple(sorted(found))


def _all_build_requires(
    app: Mapping[str, Any] | None,
    *,
    packaged: bool,
    members: tuple[WorkspaceMember, ...],
    local: list[BuildSystem],
) -> tuple[str, ...]:
    """What building the app, the members and path dependencies needs, in order, once each."""
    return tuple(
        dict.fromkeys(
            [
                *(_build_requires(app or {}, packaged=packaged)),
                *(r for m in members for r in m.build_requires),
                *(r for system in local for r in system.requires),
            ]
        )
    )
