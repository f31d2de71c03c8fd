"""Where packages come from: the indexes, git sources and local packages a project names,
and what building them requires."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from uvdock.config import DEFAULT_PYTHON
from uvdock.errors import ConfigError
from uvdock.project.documents import read_pyproject as read_pyproject_file
from uvdock.project.lockfile import installed_packages
from uvdock.project.model import (
    BuildSystem,
    GitScheme,
    GitSource,
    LockInfo,
    PackageIndex,
    WorkspaceMember,
)

__all__ = [
    "all_build_requires",
    "build_requires",
    "git_sources",
    "local_build_systems",
    "local_packages",
    "package_indexes",
]

# What uv builds a package with when it declares no [build-system] (PEP 517's
# fallback, which uv follows).
_LEGACY_BUILD_REQUIRES = ("setuptools>=40.8.0",)


def build_requires(pyproject: Mapping[str, Any], *, packaged: bool) -> tuple[str, ...]:
    if not packaged:
        return ()
    system = pyproject.get("build-system")
    if not isinstance(system, dict) or "requires" not in system:
        return _LEGACY_BUILD_REQUIRES
    return tuple(str(r) for r in system.get("requires", ()))


def package_indexes(
    pyproject: Mapping[str, Any] | None, text: str | None
) -> tuple[PackageIndex, ...]:
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


def git_sources(
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


def local_build_systems(lock: LockInfo | None, context: Path) -> dict[str, BuildSystem]:
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


_LOCAL_SOURCES = frozenset({"editable", "directory", "virtual", "path"})


def local_packages(
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


def all_build_requires(
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
                *(build_requires(app or {}, packaged=packaged)),
                *(r for m in members for r in m.build_requires),
                *(r for system in local for r in system.requires),
            ]
        )
    )
