"""Reading ``uv.lock``: packages, whether it is current, and wheels per platform.

Whether the lock is current is decided by :mod:`uvdock.project.freshness`,
which follows uv's own rules; this module reads the packages the lock holds
and answers what ``uv sync`` installs on a platform.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name

from uvdock.project.documents import read_lock as read_lock_file
from uvdock.project.freshness import check_workspace_freshness
from uvdock.project.model import (
    LockedDependency,
    LockedFile,
    LockedPackage,
    LockInfo,
    LockState,
)

ARCH_OF_PLATFORM = {"linux/amd64": "x86_64", "linux/arm64": "aarch64"}


def read_lock(path: Path) -> tuple[tuple[LockedPackage, ...], str | None, dict[str, Any]]:
    data, _ = read_lock_file(path)
    raw_packages = data.get("package", [])
    packages = tuple(_package(raw) for raw in raw_packages)
    requires_python = data.get("requires-python")
    return packages, requires_python if isinstance(requires_python, str) else None, data


def _deps(raw: Iterable[Any]) -> tuple[LockedDependency, ...]:
    out = []
    for dep in raw:
        if not isinstance(dep, dict) or "name" not in dep:
            continue
        extras = dep.get("extra", ())
        source = dep.get("source")
        out.append(
            LockedDependency(
                name=canonicalize_name(str(dep["name"])),
                version=dep.get("version"),
                marker=dep.get("marker"),
                extras=tuple(str(e) for e in extras),
                source=str(next(iter(source.values())))
                if isinstance(source, dict) and source
                else None,
            )
        )
    return tuple(out)


def _array(raw: Mapping[str, Any], key: str) -> list[Any]:
    value = raw.get(key, [])
    return value if isinstance(value, list) else []  # a hand-broken lock: read nothing there


def _tables(raw: Mapping[str, Any], key: str) -> list[tuple[str, list[Any]]]:
    value = raw.get(key, {})
    items = value.items() if isinstance(value, dict) else ()
    return [(str(name), deps) for name, deps in items if isinstance(deps, list)]


def _package(raw: Mapping[str, Any]) -> LockedPackage:
    source = raw.get("source", {})
    kind, url = "registry", None
    if isinstance(source, dict) and source:
        kind, value = next(iter(source.items()))
        url = str(value)
    wheels = []
    for wheel in _array(raw, "wheels"):
        if isinstance(wheel, dict):
            location = str(wheel.get("url") or wheel.get("path") or wheel.get("filename") or "")
            # PyTorch's index URL-encodes the local version's "+" (torch-2.8.0%2Bcpu-...).
            filename = urllib.parse.unquote(location.rsplit("/", 1)[-1])
            wheels.append(LockedFile(filename=filename, url=location))
    sdist = raw.get("sdist")
    sdist_url: str | None = None
    sdist_hash: str | None = None
    if isinstance(sdist, dict):
        where = sdist.get("url") or sdist.get("path")
        sdist_url = str(where) if where else None
        sdist_hash = str(sdist["hash"]) if isinstance(sdist.get("hash"), str) else None
    return LockedPackage(
        name=canonicalize_name(str(raw.get("name", ""))),
        version=raw.get("version"),
        source_kind=kind,
        source_url=url,
        sdist="sdist" in raw,
        sdist_url=sdist_url,
        sdist_hash=sdist_hash,
        wheels=tuple(wheels),
        dependencies=_deps(_array(raw, "dependencies")),
        optional=tuple(
            (extra, _deps(deps)) for extra, deps in _tables(raw, "optional-dependencies")
        ),
        groups=tuple((group, _deps(deps)) for group, deps in _tables(raw, "dev-dependencies")),
    )


def lock_info(path: Path) -> LockInfo:
    """The lock at ``path`` (a workspace root's ``uv.lock``): packages, and whether it is current.

    Whether it is current follows uv's own rules (:mod:`uvdock.project.freshness`).
    """
    packages, requires_python, data = read_lock(path)
    freshness = check_workspace_freshness(path.parent, lock_data=data)
    state: LockState = freshness.state
    reason = freshness.reason
    markers = data.get("supported-markers", ())
    return LockInfo(
        path=path,
        packages=packages,
        requires_python=requires_python,
        state=state,
        stale_reason=reason,
        supported_markers=tuple(str(m) for m in markers) if isinstance(markers, list) else (),
    )


def covers(lock: LockInfo, *, python: str, platform: str) -> bool:
    """Whether the lock was resolved for this Python and platform (``[tool.uv] environments``)."""
    if not lock.supported_markers:
        return True
    env = marker_environment(python=python, platform=platform)
    return any(_applies(marker, env) for marker in lock.supported_markers)


# --- what gets installed, and whether a wheel exists -----------------------------


def marker_environment(*, python: str, platform: str) -> dict[str, str]:
    """PEP 508 marker values for CPython ``python`` (``"3.13"``) on a linux ``platform``."""
    machine = ARCH_OF_PLATFORM.get(platform, platform.rsplit("/", 1)[-1])
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "os_name": "posix",
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": f"{python}.0",
        "python_version": python,
        "sys_platform": "linux",
    }


# uv writes the extras and groups of `[tool.uv] conflicts` into markers as
# `extra == 'extra-14-kokoro-fastapi-cpu'` (`extra-<len>-<package>-<extra>`, or
# `group-...`): whether such an atom holds depends on what the sync selects.
_CONFLICT_ATOM = re.compile(r"""extra\s*(==|!=)\s*(['"])((?:extra|group)-\d+-[^'"]*)\2""")
_TRUE = "python_version >= '0'"
_FALSE = "python_version < '0'"


def conflict_names(roots: Iterable[str], extras: Iterable[str], groups: Iterable[str]) -> set[str]:
    """uv's encoded names of the selected extras and groups, as conflict markers spell them."""
    names: set[str] = set()
    for root in roots:
        package = canonicalize_name(root)
        names.update(f"extra-{len(package)}-{package}-{canonicalize_name(e)}" for e in extras)
        names.update(f"group-{len(package)}-{package}-{canonicalize_name(g)}" for g in groups)
    return names


def _resolve_conflicts(marker: str, active: set[str]) -> str:
    def truth(match: re.Match[str]) -> str:
        holds = (match.group(3) in active) == (match.group(1) == "==")
        return _TRUE if holds else _FALSE

    return _CONFLICT_ATOM.sub(truth, marker)


@functools.lru_cache(maxsize=8192)
def _marker(text: str) -> Marker | None:
    """A parsed marker; the same few hundred repeat across a lock, platforms and Pythons."""
    try:
        return Marker(text)
    except InvalidMarker:
        return None


def _applies(
    marker: str | None,
    env: dict[str, str],
    extras: Iterable[str] = (),
    active: set[str] | None = None,
) -> bool:
    if not marker:
        return True
    parsed = _marker(_resolve_conflicts(marker, active or set()))
    if parsed is None:
        return True  # cannot tell: assume it is installed, the cautious answer
    extra_values = [*extras] or [""]
    return any(parsed.evaluate({**env, "extra": extra}) for extra in extra_values)


def _pick(candidates: list[LockedPackage], dep: LockedDependency) -> list[LockedPackage]:
    """The locked package a dependency means: by name, then version, then source."""
    if dep.version is not None:
        candidates = [c for c in candidates if c.version == dep.version] or candidates
    if dep.source is not None:
        candidates = [c for c in candidates if c.source_url == dep.source] or candidates
    return candidates[:1]


def installed_packages(
    packages: Iterable[LockedPackage],
    *,
    roots: Iterable[str],
    python: str,
    platform: str,
    extras: Iterable[str] = (),
    groups: Iterable[str] = (),
) -> list[LockedPackage]:
    """Packages ``uv sync`` installs for ``roots`` with ``extras`` and ``groups`` (no dev)."""
    env = marker_environment(python=python, platform=platform)
    by_name: dict[str, list[LockedPackage]] = {}
    for package in packages:
        by_name.setdefault(package.name, []).append(package)
    roots = [canonicalize_name(r) for r in roots]
    root_extras = tuple(extras)
    wanted_groups = {canonicalize_name(g) for g in groups}
    active = conflict_names(roots, root_extras, wanted_groups)
    seen: dict[tuple[str, str | None, str | None], LockedPackage] = {}
    expanded: set[tuple[str, str | None, str | None, str]] = set()
    queue: list[tuple[LockedPackage, tuple[str, ...]]] = [
        (package, root_extras) for root in roots for package in by_name.get(root, ())
    ]
    for package, _ in list(queue):
        for group, group_deps in package.groups:
            if canonicalize_name(group) not in wanted_groups:
                continue
            for dep in group_deps:
                if _applies(dep.marker, env, active=active):
                    queue.extend((c, dep.extras) for c in _pick(by_name.get(dep.name, []), dep))
    while queue:
        package, extras_here = queue.pop()
        key = (package.name, package.version, package.source_url)
        deps: list[LockedDependency] = []
        if key not in seen:
            seen[key] = package
            deps.extend(package.dependencies)
        optional = dict(package.optional)
        new_extras = [e for e in extras_here if (*key, e) not in expanded]
        for extra in new_extras:
            expanded.add((*key, extra))
            deps.extend(optional.get(extra, ()))
        for dep in deps:
            if _applies(dep.marker, env, new_extras, active):
                queue.extend((c, dep.extras) for c in _pick(by_name.get(dep.name, []), dep))
    return sorted(seen.values(), key=lambda p: p.name)


def _glibc_platform_tags(arch: str, glibc_minor: int) -> list[str]:
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    for minor, name in legacy.items():
        if minor <= glibc_minor:
            tags.insert(tags.index(f"manylinux_2_{minor}_{arch}") + 1, f"{name}_{arch}")
    tags.append(f"linux_{arch}")
    return tags


def supported_tags(*, python: str, platform: str, glibc_minor: int) -> set[Tag]:
    major, minor = (int(x) for x in python.split(".")[:2])
    arch = ARCH_OF_PLATFORM.get(platform, platform.rsplit("/", 1)[-1])
    plats = _glibc_platform_tags(arch, glibc_minor)
    version = (major, minor)
    tags = set(cpython_tags(version, abis=[f"cp{major}{minor}"], platforms=plats))
    tags |= set(compatible_tags(version, interpreter=f"cp{major}{minor}", platforms=plats))
    return tags
