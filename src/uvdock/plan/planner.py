"""ProjectInfo + Settings -> BuildPlan. Pure: no I/O beyond what detection read."""

from __future__ import annotations

import dataclasses
import shlex
import urllib.parse
from collections.abc import Callable
from typing import get_args

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from uvdock.config import DEFAULT_PYTHON, DEFAULT_UV_VERSION, SUPPORTED_PYTHONS, Settings
from uvdock.plan import images
from uvdock.plan.model import BuildPlan, Healthcheck, NativeBuild, Problem, Secret, Toolchain
from uvdock.plan.syslibs import COMPILER, NEEDS
from uvdock.plan.toolchains import APT_FOR, SdistReader, toolchain_of
from uvdock.plan.wheels import choose_python, from_source
from uvdock.project.lockfile import covers, installed_packages
from uvdock.project.model import Entrypoint, ProjectInfo, Sourced

PLATFORMS = ("linux/amd64", "linux/arm64")
# Public package indexes that never ask for credentials: a named index on one of
# these hosts gets no build secret (PyPI itself, and the wheel indexes ML projects
# name in [[tool.uv.index]]: PyTorch's CPU/CUDA builds, NVIDIA's, PyG's).
PUBLIC_INDEX_HOSTS = frozenset({
    "pypi.org", "test.pypi.org", "files.pythonhosted.org", "download.pytorch.org",
    "pypi.nvidia.com", "pypi.ngc.nvidia.com", "data.pyg.org",
})  # fmt: skip


def _public_index(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    return host in PUBLIC_INDEX_HOSTS


CA_TARGET = "/run/secrets/ca_bundle.pem"


def _allows(spec: str, minor: str) -> bool | None:
    try:
        specifier = SpecifierSet(spec)
    except InvalidSpecifier:
        return None
    return any(specifier.contains(f"{minor}.{patch}", prereleases=True) for patch in range(40))


def _allowed(project: ProjectInfo) -> list[str]:
    """The supported Pythons that requires-python allows, lowest first."""
    requires = project.requires_python
    if requires is None:
        return []
    return [m for m in SUPPORTED_PYTHONS if _allows(requires.value, m)]


def _python(
    project: ProjectInfo,
    settings: Settings,
    problems: list[Problem],
    *,
    allowed: list[str],
    gaps_of: Callable[[str], list[NativeBuild]],
) -> tuple[Sourced[str], bool]:
    """The image's Python, and whether uvdock chose it (rather than a setting or a pin)."""
    explicit = settings.sourced("python")
    pin, requires = project.python_pin, project.requires_python
    if explicit.value is not None:
        chosen = Sourced(str(explicit.value), explicit.source)
        if pin is not None and pin.value != chosen.value:
            problems.append(
                Problem(
                    severity="error",
                    message=f"Python {chosen.value} ({chosen.source}) contradicts .python-version "
                    f"({pin.value}, {pin.source})",
                    hint=f"use Python {pin.value} or change .python-version",
                )
            )
    elif pin is not None:
        chosen = pin
    else:
        chosen = _choose(project, problems, allowed=allowed, gaps_of=gaps_of)
        theirs = project.dockerfile_python
        if theirs is not None and theirs.value != chosen.value:
            problems.append(
                Problem(
                    severity="note",
                    message=f"the project's own {theirs.source} runs Python {theirs.value}; the "
                    f"image gets {chosen.value} ({chosen.source.split(';', 1)[0]})",
                    hint=f"pass --python {theirs.value} (or write .python-version) to keep "
                    f"{theirs.value}",
                )
            )
    if requires is not None and _allows(requires.value, chosen.value) is False:
        problems.append(
            Problem(
                severity="error",
                message=f"Python {chosen.value} ({chosen.source}) is not allowed by "
                f"requires-python {requires.value!r} ({requires.source})",
                hint="pick a Python that requires-python allows (.python-version or --python)",
            )
        )
    return chosen, explicit.value is None and pin is None


def _choose(
    project: ProjectInfo,
    problems: list[Problem],
    *,
    allowed: list[str],
    gaps_of: Callable[[str], list[NativeBuild]],
) -> Sourced[str]:
    """With nothing set: the highest allowed Python the lock has wheels for."""
    requires = project.requires_python
    if requires is None:
        return Sourced(DEFAULT_PYTHON, "default")
    if not allowed:
        problems.append(
            Problem(
                severity="error",
                message=f"requires-python {requires.value!r} ({requires.source}) allows none "
                f"of the supported Pythons ({', '.join(SUPPORTED_PYTHONS)})",
                hint="widen requires-python or set --python",
            )
        )
        return Sourced(DEFAULT_PYTHON, "default")
    choice = choose_python(allowed, {p: gaps_of(p) for p in allowed})
    why = f"highest supported Python that requires-python {requires.value!r} allows"
    if project.lock is not None:
        why += " and uv.lock has wheels for"
    why += f" ({requires.source})"
    if choice.skipped:
        why += f"; {choice.why()}"
    return Sourced(choice.python, why)


def _uv_version(project: ProjectInfo, settings: Settings, problems: list[Problem]) -> Sourced[str]:
    explicit = settings.sourced("uv_version")
    if explicit.value is not None:
        return Sourced(str(explicit.value), explicit.source)
    required = project.uv_required_version
    if required is None:
        return Sourced(DEFAULT_UV_VERSION, "default")
    text = required.value.strip()
    exact = text.removeprefix("==")
    try:
        Version(exact)
    except InvalidVersion:
        pass
    else:
        return Sourced(exact, f"[tool.uv] required-version ({required.source})")
    allowed = _allows_version(text, DEFAULT_UV_VERSION)
    if allowed is False:
        problems.append(
            Problem(
                severity="error",
                message=f"[tool.uv] required-version {text!r} ({required.source}) excludes "
                f"uvdock's default uv {DEFAULT_UV_VERSION}",
                hint="set [tool.uvdock] uv-version to a version it allows",
            )
        )
    return Sourced(DEFAULT_UV_VERSION, f"default, within required-version {text!r}")


def _allows_version(spec: str, version: str) -> bool | None:
    try:
        return SpecifierSet(spec).contains(version, prereleases=True)
    except InvalidSpecifier:
        return None


def _images(
    settings: Settings, *, python: str, uv_version: str, problems: list[Problem]
) -> tuple[Sourced[str], Sourced[str], Sourced[str]]:
    prefix = settings.get("image_prefix")
    approach = settings.get("approach")
    base = settings.sourced("base_image")
    if base.value is None:
        default = (
            images.default_official_image(uv_version, python)
            if approach == "official"
            else images.default_runtime_image(python)
        )
        base = Sourced(
            images.with_prefix(default, prefix), "default" + (" + image-prefix" if prefix else "")
        )
    else:
        base = Sourced(str(base.value), base.source)
        image_python = images.python_of_image(base.value)
        if image_python is not None and image_python != python:
            problems.append(
                Problem(
                    severity="error",
                    message=f"base image {base.value} ({base.source}) has Python {image_python} "
                    f"but the project needs Python {python}",
                    hint=f"use a Python {python} image (e.g. "
                    f"{images.default_runtime_image(python)}) or change the project's Python",
                )
            )
        elif image_python is None:
            problems.append(
                Problem(
                    severity="warning",
                    message=f"cannot tell the Python version of base image {base.value}",
                    hint=f"make sure it has CPython {python}; the build fails if it does not",
                )
            )
    python_image = base
    if approach == "official":  # the dev setup builds on the plain Python image, not uv's
        python_image = Sourced(
            images.with_prefix(images.default_runtime_image(python), prefix),
            "default" + (" + image-prefix" if prefix else ""),
        )
    uv_image = settings.sourced("uv_image")
    if uv_image.value is None:
        uv_image = Sourced(
            images.with_prefix(images.default_uv_image(uv_version), prefix),
            "default" + (" + image-prefix" if prefix else ""),
        )
    else:
        uv_image = Sourced(str(uv_image.value), uv_image.source)
    for ref in (base, uv_image):
        if not images.is_pinned(ref.value):
            problems.append(
                Problem(
                    severity="warning",
                    message=f"image {ref.value} is not pinned to a version",
                    hint="use a version tag, ideally with @sha256:<digest>",
                )
            )
    if images.glibc_minor_of_image(base.value) is None:
        problems.append(
            Problem(
                severity="warning",
                message=f"{base.value} is musl-based (Alpine): many wheels do not fit it and "
                "the generated apt-get steps do not apply",
                hint="prefer a Debian slim image",
            )
        )
    return base, python_image, uv_image


def _secrets(project: ProjectInfo, settings: Settings) -> tuple[tuple[Secret, ...], bool]:
    secrets: list[Secret] = []
    ca = settings.sourced("ca_bundle")
    if ca.value:
        secrets.append(
            Secret(
                id="ca_bundle",
                purpose=f"extra CA certificates for TLS to package indexes ({ca.source})",
                target=CA_TARGET,
                env="SSL_CERT_FILE",
                required=True,
                build_flag="--secret " + shlex.quote(f"id=ca_bundle,src={ca.value}"),
            )
        )
    for index in project.indexes:
        prefix = index.env_prefix
        if prefix is None or index.authenticate == "never" or _public_index(index.url):
            continue
        where = f"pyproject.toml:{index.line}" if index.line else "pyproject.toml"
        for part in ("USERNAME", "PASSWORD"):
            variable = f"{prefix}{part}"
            secrets.append(
                Secret(
                    id=variable,
                    purpose=f"{part.lower()} for index {index.name!r} ({where})",
                    target=f"/run/secrets/{variable}",
                    env=variable,
                    required=True,
                    build_flag=f"--secret id={variable},env={variable}",
                )
            )
    if any(g.scheme == "https" for g in project.git_sources):
        secrets.append(
            Secret(
                id="netrc",
                purpose="credentials for private git+https repositories (optional: a netrc file)",
                target="/root/.netrc",
                env=None,
                required=False,
                build_flag="--secret id=netrc,src=$HOME/.netrc",
            )
        )
    ssh_setting = settings.get("ssh")
    ssh = (
        bool(ssh_setting)
        if ssh_setting is not None
        else any(g.scheme == "ssh" for g in project.git_sources)
    )
    return tuple(secrets), ssh


def _glibc(settings: Settings, python: str) -> int | None:
    base = settings.get("base_image") or images.default_runtime_image(python)
    return images.glibc_minor_of_image(str(base))


def covered_platforms(project: ProjectInfo, python: str) -> tuple[str, ...]:
    """The target platforms the lock covers (all, unless ``[tool.uv] environments`` limits it)."""
    lock = project.lock
    if lock is None:
        return PLATFORMS
    return tuple(p for p in PLATFORMS if covers(lock, python=python, platform=p))


def _platform_problems(project: ProjectInfo, python: str) -> list[Problem]:
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


def _from_source(project: ProjectInfo, settings: Settings, python: str) -> list[NativeBuild]:
    """The locked packages the build compiles for ``python``, on every target platform."""
    if project.lock is None:
        return []
    return from_source(
        project.lock.packages,
        roots=project.install_roots,
        python=python,
        platforms=covered_platforms(project, python),
        glibc_minor=_glibc(settings, python) or images.DEFAULT_GLIBC_MINOR,
        extras=project.extra_names,
        groups=project.group_names,
    )


def _with_toolchains(
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


def _installed_names(project: ProjectInfo, python: str) -> set[str]:
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


def _system_packages(
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


def _from_source_problems(
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


def _port(project: ProjectInfo, settings: Settings) -> Sourced[int]:
    """The port the app listens on: the setting, else the one its own command fixes."""
    setting = settings.sourced("port")
    entry = project.entrypoint
    if setting.source == "default" and entry is not None and entry.value.port is not None:
        return Sourced(entry.value.port, f"the command's own port ({entry.source})")
    return Sourced(int(setting.value), setting.source)


def _healthcheck(*, entry: Entrypoint | None, settings: Settings, port: int) -> Healthcheck | None:
    if entry is None or not (entry.http or entry.protocol == "uwsgi"):
        return None
    setting = settings.sourced("healthcheck")
    if setting.value is False:
        return None
    if entry.protocol == "uwsgi":
        # A uWSGI socket speaks the uwsgi protocol, not HTTP: only a TCP connect can tell.
        return Healthcheck(path=None, port=port, source="uWSGI socket (not HTTP): TCP check")
    health_path = entry.health_path
    if isinstance(setting.value, str):
        path = setting.value if setting.value.startswith("/") else f"/{setting.value}"
        return Healthcheck(path=path, port=port, source=setting.source)
    if health_path:
        return Healthcheck(path=health_path, port=port, source="route found in the code")
    return Healthcheck(path=None, port=port, source="no health route found: TCP check")


def _lock_problems(project: ProjectInfo) -> list[Problem]:
    problems: list[Problem] = []
    source = project.dependency_source.value
    if source == "uv" and project.lock is not None and project.lock.state == "stale":
        problems.append(
            Problem(
                severity="error",
                message=f"{project.lock.path}: uv.lock is out of date with pyproject.toml: "
                f"{project.lock.stale_reason}",
                hint="run `uv lock` and commit uv.lock",
            )
        )
    if source == "uv" and project.lock is not None and project.lock.state == "unknown":
        problems.append(
            Problem(
                severity="note",
                message=f"{project.lock.path}: {project.lock.stale_reason}",
                hint="`uv lock --check` tells for sure; the build's `uv sync --locked` checks it",
            )
        )
    if source == "pyproject":
        problems.append(
            Problem(
                # The Dockerfile would run `uv sync --locked`, which fails without a lock:
                # an error, so no file that is known not to build is written.
                severity="error",
                message="pyproject.toml has no uv.lock: the build runs `uv sync --locked`, "
                "which needs one",
                hint="run `uv lock` and commit uv.lock (or use --source requirements)",
            )
        )
    if source == "requirements" and not project.requirements_hashed:
        problems.append(
            Problem(
                severity="warning",
                message=f"{project.requirements_file}: requirements without hashes are not a lock",
                hint="generate it with `uv pip compile --generate-hashes` (or move to uv.lock)",
            )
        )
    for index in project.indexes:
        if "@" in index.url.split("//", 1)[-1].split("/", 1)[0]:
            problems.append(
                Problem(
                    severity="error",
                    message=f"pyproject.toml:{index.line}: index {index.name!r} has credentials "
                    "in its URL",
                    hint=f"remove them and pass {index.env_prefix}USERNAME/PASSWORD as build "
                    "secrets",
                )
            )
    if project.vcs_versioning:
        problems.append(
            Problem(
                severity="note",
                message="the version comes from git (dynamic VCS versioning)",
                hint=".git is kept in the build context so the build can read it",
            )
        )
    return problems


def make_plan(
    project: ProjectInfo, settings: Settings, *, read_sdist: SdistReader | None = None
) -> BuildPlan:
    """Decide everything the renderers and builders need; collects problems, raises nothing.

    ``read_sdist`` reads the build system of a package that must be built from
    source (``uvdock.project.sdist``); without it, uvdock's table is used.
    """
    problems = _lock_problems(project)
    gaps: dict[str, list[NativeBuild]] = {}

    def gaps_of(python: str) -> list[NativeBuild]:
        if python not in gaps:
            gaps[python] = _from_source(project, settings, python)
        return gaps[python]

    allowed = _allowed(project)
    python, uvdock_chose = _python(project, settings, problems, allowed=allowed, gaps_of=gaps_of)
    uv_version = _uv_version(project, settings, problems)
    base, python_image, uv_image = _images(
        settings, python=python.value, uv_version=uv_version.value, problems=problems
    )
    natives = _with_toolchains(gaps_of(python.value), project, read_sdist)
    installed = _installed_names(project, python.value)
    secrets, ssh = _secrets(project, settings)
    build_packages, runtime_packages = _system_packages(
        project, settings, natives=natives, installed=installed
    )
    problems += _platform_problems(project, python.value)
    problems += _from_source_problems(
        natives,
        python=python,
        python_set=not uvdock_chose,
        settings=settings,
        gaps_of=gaps_of,
        candidates=allowed,
    )
    if project.entrypoint is None:
        problems.append(
            Problem(severity="error", message=project.entrypoint_problem or "no entrypoint")
        )
    if settings.get("approach") == "official" and project.dependency_source.value != "uv":
        problems.append(
            Problem(
                severity="note",
                message="the official approach installs requirements with uv pip sync into a "
                "virtual environment",
            )
        )
    entry = project.entrypoint
    port = _port(project, settings)
    return BuildPlan(
        project=project,
        settings=settings,
        approach=settings.get("approach"),
        python=python,
        uv_version=uv_version,
        base_image=base,
        python_image=python_image,
        uv_image=uv_image,
        platforms=covered_platforms(project, python.value) or PLATFORMS,
        entrypoint=entry,
        port=port.value,
        port_source=port.source,
        healthcheck=_healthcheck(
            entry=entry.value if entry else None, settings=settings, port=port.value
        ),
        uid=int(settings.get("uid")),
        secrets=secrets,
        ssh=ssh,
        build_packages=tuple(build_packages),
        runtime_packages=tuple(runtime_packages),
        native_builds=tuple(natives),
        problems=tuple(problems),
    )
