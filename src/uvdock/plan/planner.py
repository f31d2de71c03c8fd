"""ProjectInfo + Settings -> BuildPlan. Pure: no I/O beyond what detection read."""

from __future__ import annotations

import shlex
import urllib.parse

from uvdock.config import Settings
from uvdock.plan import images
from uvdock.plan.model import BuildPlan, Healthcheck, NativeBuild, Problem, Secret
from uvdock.plan.native import (
    PLATFORMS,
    covered_platforms,
    from_source_builds,
    from_source_problems,
    installed_names,
    platform_problems,
    system_packages,
    with_toolchains,
)
from uvdock.plan.toolchains import SdistReader
from uvdock.plan.versions import allowed_pythons, choose_python_version, choose_uv_version
from uvdock.project.model import Entrypoint, ProjectInfo, Sourced

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
            gaps[python] = from_source_builds(project, settings, python)
        return gaps[python]

    allowed = allowed_pythons(project)
    python, uvdock_chose = choose_python_version(
        project, settings, problems, allowed=allowed, gaps_of=gaps_of
    )
    uv_version = choose_uv_version(project, settings, problems)
    base, python_image, uv_image = _images(
        settings, python=python.value, uv_version=uv_version.value, problems=problems
    )
    natives = with_toolchains(gaps_of(python.value), project, read_sdist)
    installed = installed_names(project, python.value)
    secrets, ssh = _secrets(project, settings)
    build_packages, runtime_packages = system_packages(
        project, settings, natives=natives, installed=installed
    )
    problems += platform_problems(project, python.value)
    problems += from_source_problems(
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
