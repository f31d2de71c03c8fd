"""What the build compiles from source and what Debian packages that needs (a planner step).

For the chosen Python, the locked packages without a wheel for each target
platform, the build backend and toolchains each one needs, and the Debian
packages the builder stage (compilers, headers) and the final stage (shared
libraries) install.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import get_args

from uvdock.config import Settings
from uvdock.plan import images
from uvdock.plan.model import NativeBuild, Problem, Toolchain
from uvdock.plan.syslibs import COMPILER, NEEDS
from uvdock.plan.toolchains import APT_FOR, SdistReader, toolchain_of
from uvdock.plan.wheels import from_source
from uvdock.project.lockfile import covers, installed_packages
from uvdock.project.model import ProjectInfo, Sourced

PLATFORMS = ("linux/amd64", "linux/arm64")


def glibc_of(settings: Settings, python: str) -> int | None:
    base = settings.get("base_image") or images.default_runtime_image(python)
    return images.glibc_minor_of_image(str(base))


def covered_platforms(project: ProjectInfo, python: str) -> tuple[str, ...]:
    """The target platforms the lock covers (all, unless ``[tool.uv] environments`` limits it)."""
    lock = project.lock
    if lock is None:
        return PLATFORMS
    return tuple(p for p in PLATFORMS if covers(lock, python=python, platform=p))


def platform_problems(project: ProjectInfo, python: str) -> list[Problem]:
    covered = covered_platforms(project, python)
    if covered == PLATFORMS or project.lock is None:
        return []
    markers = " or ".join(project.lock.supported_markers)
    left = [p for p in PLATFORMS if p not in covered]
    if not covered:
        return [
            Problem(
                severity="error",
                message=f"uv.lock covers no Linux platform ([tool.uv] environments: {markers})",
                hint="add \"sys_platform == 'linux'\" to [tool.uv] environments and run `uv lock`",
            )
        ]
    return [
        Problem(
            severity="note",
            message=f"uv.lock covers {', '.join(covered)} only ([tool.uv] environments: "
            f"{markers}): {', '.join(left)} left out",
            hint="widen [tool.uv] environments and run `uv lock` to build for every platform",
        )
    ]


def from_source_builds(project: ProjectInfo, settings: Settings, python: str) -> list[NativeBuild]:
    """The locked packages the build compiles for ``python``, on every target platform."""
    if project.lock is None:
        return []
    return from_source(
        project.lock.packages,
        roots=project.install_roots,
        python=python,
        platforms=covered_platforms(project, python),
        glibc_minor=glibc_of(settings, python) or images.DEFAULT_GLIBC_MINOR,
        extras=project.extra_names,
        groups=project.group_names,
    )


def with_toolchains(
    natives: list[NativeBuild], project: ProjectInfo, read_sdist: SdistReader | None
) -> list[NativeBuild]:
    out = []
    for native in natives:
        package = next(
            p
            for p in project.lock.packages  # type: ignore[union-attr]
            if p.name == native.package and p.version == native.version
        )
        backend, needs, source = toolchain_of(
            package, local=project.local_build_systems, read_sdist=read_sdist
        )
        if backend is None and native.cause in {"git", "url"}:
            # Its build system is only known once uv fetches it, in the build; git
            # dependencies are mostly pure Python, so nothing is installed for them.
            needs, source = (), "build backend unknown until fetched: no toolchain assumed"
        out.append(dataclasses.replace(native, backend=backend, needs=needs, needs_source=source))
    return out


def installed_names(project: ProjectInfo, python: str) -> set[str]:
    if project.lock is None:
        return set(project.dependency_names)
    names: set[str] = set()
    for platform in covered_platforms(project, python):
        names.update(
            p.name
            for p in installed_packages(
                project.lock.packages,
                roots=project.install_roots,
                python=python,
                platform=platform,
                extras=project.extra_names,
                groups=project.group_names,
            )
        )
    return names


def _rust_opted_in(settings: Settings) -> bool:
    return bool({"cargo", "rustc"} & set(settings.get("build_packages")))


def _toolchain_packages(natives: list[NativeBuild], settings: Settings) -> dict[str, str]:
    """Debian packages for the toolchains the from-source builds need (builder only)."""
    build: dict[str, str] = {}
    mode = settings.get("compiler")
    if mode == "always":
        build[COMPILER] = "compiler = always"
    if mode == "never":
        return build
    for toolchain in get_args(Toolchain):
        users = sorted(n.package for n in natives if toolchain in n.needs)
        if not users or (toolchain == "rust" and not _rust_opted_in(settings)):
            continue
        for package in APT_FOR[toolchain]:
            build.setdefault(package, f"built from source: {', '.join(users)}")
    return build


def system_packages(
    project: ProjectInfo,
    settings: Settings,
    *,
    natives: list[NativeBuild],
    installed: set[str],
) -> tuple[list[Sourced[str]], list[Sourced[str]]]:
    build = _toolchain_packages(natives, settings)
    runtime: dict[str, str] = {}
    built_names = {n.package for n in natives}
    if project.git_sources:
        build["git"] = "uv fetches git dependencies with git"
        if any(g.scheme == "ssh" for g in project.git_sources):
            build["openssh-client"] = "git+ssh dependencies"
    for name in sorted(installed):
        for need in NEEDS.get(name, ()):
            if any(other in installed for other in need.unless):
                continue
            if need.when == "built" and name not in built_names:
                continue
            for package in need.build:
                build.setdefault(package, f"{name} is built from source")
            for package in need.runtime:
                runtime.setdefault(package, f"{name} needs it at run time")
    for package in settings.get("build_packages"):
        build.setdefault(package, settings.sourced("build_packages").source)
    for package in settings.get("system_packages"):
        runtime.setdefault(package, settings.sourced("system_packages").source)
    return (
        [Sourced(name, why) for name, why in build.items()],
        [Sourced(name, why) for name, why in runtime.items()],
    )


def from_source_problems(
    natives: list[NativeBuild],
    *,
    python: Sourced[str],
    python_set: bool,
    settings: Settings,
    gaps_of: Callable[[str], list[NativeBuild]],
    candidates: list[str],
) -> list[Problem]:
    """Say what is built from source and why; refuse what is known not to build."""
    problems: list[Problem] = []
    if not natives:
        return problems
    better = [
        p for p in reversed(candidates)
        if p != python.value and not any(g.cause == "python" for g in gaps_of(p))
    ]  # fmt: skip
    by_python = [n for n in natives if n.cause == "python"]
    if by_python and python_set:
        named = ", ".join(f"{n.package} {n.version or ''}".rstrip() for n in by_python)
        problems.append(
            Problem(
                severity="warning",
                message=f"Python {python.value} ({python.source}): uv.lock has no "
                f"cp{python.value.replace('.', '')} wheel for {named}, so the build compiles "
                "them from source",
                hint=(f"Python {better[0]} has wheels for all of them" if better else
                      "`uv lock --upgrade-package NAME` may bring releases with wheels"),
            )
        )  # fmt: skip
    rust = [n for n in natives if "rust" in n.needs]
    if rust and not _rust_opted_in(settings):
        first = rust[0]
        what = f"{first.package} {first.version or ''}".rstrip()
        others = f" (and {', '.join(n.package for n in rust[1:])})" if rust[1:] else ""
        fixes = []
        if first.cause == "python" and better:
            fixes.append(f"use Python {better[0]}, which has wheels (--python {better[0]})")
        fixes.append(f"`uv lock --upgrade-package {first.package}` for a release with wheels")
        fixes.append("or give the builder Rust with --build-packages cargo")
        problems.append(
            Problem(
                severity="error",
                message=f"{what}{others} must be built from source ({first.reason}; "
                f"{', '.join(first.platforms)}) and its build backend "
                f"{first.backend or '(unknown)'} needs Rust ({first.needs_source})",
                hint="; ".join(fixes),
            )
        )
    compiled = [n for n in natives if n.needs]
    if settings.get("compiler") == "never" and compiled:
        names = ", ".join(n.package for n in compiled)
        problems.append(
            Problem(
                severity="warning",
                message=f"compiler = never but {names} must be built from source",
                hint="the build fails unless the base image brings the toolchain",
            )
        )
    return problems
