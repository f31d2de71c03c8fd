"""ProjectInfo + Settings -> BuildPlan. Pure: no I/O beyond what detection read."""

from __future__ import annotations

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from uvdock.config import DEFAULT_PYTHON, DEFAULT_UV_VERSION, SUPPORTED_PYTHONS, Settings
from uvdock.plan import images
from uvdock.plan.model import BuildPlan, Healthcheck, NativeBuild, Problem, Secret
from uvdock.plan.syslibs import COMPILER, NEEDS
from uvdock.project.lockfile import has_compatible_wheel, installed_packages, supported_tags
from uvdock.project.model import ProjectInfo, Sourced

PLATFORMS = ("linux/amd64", "linux/arm64")
PYPI_HOSTS = ("pypi.org", "files.pythonhosted.org")
CA_TARGET = "/run/secrets/ca_bundle.pem"


def _allows(spec: str, minor: str) -> bool | None:
    try:
        specifier = SpecifierSet(spec)
    except InvalidSpecifier:
        return None
    return any(specifier.contains(f"{minor}.{patch}", prereleases=True) for patch in range(40))


def _python(project: ProjectInfo, settings: Settings, problems: list[Problem]) -> Sourced[str]:
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
    elif requires is not None:
        allowed = [m for m in SUPPORTED_PYTHONS if _allows(requires.value, m)]
        if allowed:
            chosen = Sourced(
                allowed[-1],
                f"highest supported Python that requires-python {requires.value!r} allows "
                f"({requires.source})",
            )
        else:
            chosen = Sourced(DEFAULT_PYTHON, "default")
            problems.append(
                Problem(
                    severity="error",
                    message=f"requires-python {requires.value!r} ({requires.source}) allows none "
                    f"of the supported Pythons ({', '.join(SUPPORTED_PYTHONS)})",
                    hint="widen requires-python or set --python",
                )
            )
    else:
        chosen = Sourced(DEFAULT_PYTHON, "default")
    if requires is not None and _allows(requires.value, chosen.value) is False:
        problems.append(
            Problem(
                severity="error",
                message=f"Python {chosen.value} ({chosen.source}) is not allowed by "
                f"requires-python {requires.value!r} ({requires.source})",
                hint="pick a Python that requires-python allows (.python-version or --python)",
            )
        )
    return chosen


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
                build_flag=f"--secret id=ca_bundle,src={ca.value}",
            )
        )
    for index in project.indexes:
        prefix = index.env_prefix
        if (
            prefix is None
            or index.authenticate == "never"
            or any(host in index.url for host in PYPI_HOSTS)
        ):
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


def _native(
    project: ProjectInfo, *, python: str, glibc_minor: int | None
) -> tuple[list[NativeBuild], set[str]]:
    if project.lock is None:
        return [], set(project.dependency_names)
    roots = [project.name, *(m.name for m in project.workspace_members)]
    builds: dict[tuple[str, str | None], NativeBuild] = {}
    installed_names: set[str] = set()
    for platform in PLATFORMS:
        installed = installed_packages(
            project.lock.packages, roots=roots, python=python, platform=platform
        )
        tags = supported_tags(python=python, platform=platform, glibc_minor=glibc_minor or 36)
        for package in installed:
            installed_names.add(package.name)
            if package.is_local_project or package.source_kind == "directory":
                continue
            if package.source_kind == "registry" and has_compatible_wheel(package, tags):
                continue
            if package.source_kind == "registry":
                reason = "only an sdist, no wheel for this Python and platform"
            elif package.source_kind == "git":
                reason = "a git dependency, built from source"
            else:
                reason = f"a {package.source_kind} dependency, built from source"
            key = (package.name, package.version)
            previous = builds.get(key)
            builds[key] = NativeBuild(
                package=package.name,
                version=package.version,
                platforms=(*(previous.platforms if previous else ()), platform),
                reason=reason,
            )
    return list(builds.values()), installed_names


def _system_packages(
    project: ProjectInfo,
    settings: Settings,
    *,
    natives: list[NativeBuild],
    installed: set[str],
) -> tuple[list[Sourced[str]], list[Sourced[str]]]:
    build: dict[str, str] = {}
    runtime: dict[str, str] = {}
    built_names = {n.package for n in natives}
    mode = settings.get("compiler")
    needs_compiler = any(
        n.reason.startswith("only an sdist") or n.package in NEEDS for n in natives
    )
    if mode == "always" or (mode == "auto" and needs_compiler):
        names = ", ".join(sorted(built_names)) or "[tool.uvdock] compiler"
        build[COMPILER] = "compiler = always" if mode == "always" else f"built from source: {names}"
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


def _healthcheck(*, http: bool, settings: Settings, health_path: str | None) -> Healthcheck | None:
    if not http:
        return None
    setting = settings.sourced("healthcheck")
    port = int(settings.get("port"))
    if setting.value is False:
        return None
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
    if source == "pyproject":
        problems.append(
            Problem(
                severity="warning",
                message="pyproject.toml has no uv.lock: the build runs `uv sync --locked` and "
                "will fail",
                hint="run `uv lock` and commit uv.lock",
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


def make_plan(project: ProjectInfo, settings: Settings) -> BuildPlan:
    """Decide everything the renderers and builders need; collects problems, raises nothing."""
    problems = _lock_problems(project)
    python = _python(project, settings, problems)
    uv_version = _uv_version(project, settings, problems)
    base, python_image, uv_image = _images(
        settings, python=python.value, uv_version=uv_version.value, problems=problems
    )
    glibc = images.glibc_minor_of_image(base.value)
    natives, installed = _native(project, python=python.value, glibc_minor=glibc)
    secrets, ssh = _secrets(project, settings)
    build_packages, runtime_packages = _system_packages(
        project, settings, natives=natives, installed=installed
    )
    if settings.get("compiler") == "never" and any(
        n.reason.startswith("only an sdist") for n in natives
    ):
        names = ", ".join(n.package for n in natives)
        problems.append(
            Problem(
                severity="warning",
                message=f"compiler = never but {names} must be built from source",
                hint="the build will fail unless they are pure Python",
            )
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
    http = entry is not None and entry.value.http
    return BuildPlan(
        project=project,
        settings=settings,
        approach=settings.get("approach"),
        python=python,
        uv_version=uv_version,
        base_image=base,
        python_image=python_image,
        uv_image=uv_image,
        platforms=PLATFORMS,
        entrypoint=entry,
        port=int(settings.get("port")),
        healthcheck=_healthcheck(
            http=http, settings=settings, health_path=entry.value.health_path if entry else None
        ),
        uid=int(settings.get("uid")),
        secrets=secrets,
        ssh=ssh,
        build_packages=tuple(build_packages),
        runtime_packages=tuple(runtime_packages),
        native_builds=tuple(natives),
        problems=tuple(problems),
    )
