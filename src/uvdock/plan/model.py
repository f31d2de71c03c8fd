"""The build plan: pure data that the renderers and builders read."""

from __future__ import annotations

import dataclasses
import functools
import shlex
from typing import Any, Literal

from uvdock.config import Approach, Settings
from uvdock.grammar import inside_path
from uvdock.project.model import Entrypoint, ProjectInfo, Sourced

Severity = Literal["error", "warning", "note"]
# Why a locked package is built from source: no wheel for the chosen Python, none
# for the platform, none at all, or a source that has no wheels (git, URL).
BuildCause = Literal["python", "platform", "sdist-only", "git", "url"]
# What building a package from source needs, beyond Python's headers.
Toolchain = Literal["c", "cmake", "meson", "fortran", "rust"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Problem:
    severity: Severity
    message: str
    hint: str | None = None

    def one_line(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


@dataclasses.dataclass(frozen=True, kw_only=True)
class Secret:
    """A BuildKit secret the dependency install mounts; never an ARG or ENV."""

    id: str
    purpose: str
    target: str  # path inside the RUN step
    env: str | None  # variable the RUN step sets from the file, if any
    required: bool
    build_flag: str  # how to pass it to `docker buildx build`


@dataclasses.dataclass(frozen=True, kw_only=True)
class NativeBuild:
    package: str
    version: str | None
    platforms: tuple[str, ...]
    reason: str
    cause: BuildCause = "sdist-only"
    backend: str | None = None  # the build backend, when known (maturin, mesonpy, ...)
    needs: tuple[Toolchain, ...] = ()
    needs_source: str = ""  # where the backend and needs came from


@dataclasses.dataclass(frozen=True, kw_only=True)
class Healthcheck:
    path: str | None  # None: a TCP connect check
    port: int
    source: str


# Where the final image's virtual environment lives, in every engine.
VENV = "/app/.venv"
APP_DIR = "/app"


@dataclasses.dataclass(frozen=True, kw_only=True)
class EnvVar:
    """One variable the final image sets, in the order images set them."""

    name: str
    # uvdock's values may use the base image's variables (``$PATH``); the
    # project's own (``literal``) are taken as they are.
    value: str
    literal: bool = False
    # Set by the daemonless engine only: the generated Dockerfile has never set
    # it, and adding it would change every Dockerfile and image built from one.
    daemonless_only: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class HealthProbe:
    """The image's health check: a command and Docker's timings (seconds)."""

    argv: tuple[str, ...]
    interval: int = 30
    timeout: int = 5
    start_period: int = 10
    retries: int = 3


@dataclasses.dataclass(frozen=True, kw_only=True)
class Runtime:
    """What the final image is at run time: the Dockerfile prints it, the daemonless engine
    writes it into the image config.

    ``workdir`` is where the app's code is and the command starts. The official
    approach's Dockerfile installs a workspace member that is not a package
    from the whole workspace at /app and then changes into the member's
    directory; the daemonless engine always puts the member's files at
    ``workdir``.
    """

    venv: str
    env: tuple[EnvVar, ...]
    workdir: str
    user: str  # uid:gid
    command: tuple[str, ...] | None  # CMD, exec form; None: no entrypoint was found
    ports: tuple[int, ...]  # EXPOSEd, TCP
    health: HealthProbe | None
    labels: tuple[tuple[str, str], ...]
    # (path in the build context, path under ``workdir``) of the files an
    # installed app's command reads (code that is not installed is copied whole).
    files: tuple[tuple[str, str], ...]

    @property
    def project_env(self) -> tuple[tuple[str, str], ...]:
        """The entrypoint's own variables (literal), after uvdock's."""
        return tuple((var.name, var.value) for var in self.env if var.literal)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuildPlan:
    project: ProjectInfo
    settings: Settings
    approach: Approach
    python: Sourced[str]
    uv_version: Sourced[str]
    base_image: Sourced[str]
    python_image: Sourced[str]  # plain Python image: the dev setup's base in both approaches
    uv_image: Sourced[str]
    platforms: tuple[str, ...]
    entrypoint: Sourced[Entrypoint] | None
    port: int
    healthcheck: Healthcheck | None
    uid: int
    secrets: tuple[Secret, ...]
    ssh: bool
    build_packages: tuple[Sourced[str], ...]
    runtime_packages: tuple[Sourced[str], ...]
    native_builds: tuple[NativeBuild, ...]
    problems: tuple[Problem, ...]
    port_source: str = "default"

    @functools.cached_property
    def runtime(self) -> Runtime:
        """The final image at run time, derived from the plan's fields (see :class:`Runtime`).

        Derived rather than stored, so a plan changed with ``dataclasses.replace``
        never carries the runtime of the plan it was made from.
        """
        return runtime_of(self)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def http(self) -> bool:
        return self.entrypoint is not None and self.entrypoint.value.http

    @property
    def listens(self) -> bool:
        """Whether the app listens on a port (HTTP, or a uWSGI socket): EXPOSE it."""
        return self.http or (
            self.entrypoint is not None and self.entrypoint.value.protocol == "uwsgi"
        )

    @property
    def has_apt_build(self) -> bool:
        return bool(self.build_packages)

    @property
    def member_selection(self) -> tuple[str, ...]:
        """The workspace member and the extras the app needs (the dev image's too)."""
        flags: list[str] = []
        if self.project.package:
            flags += ["--package", self.project.package]
        for extra in self.project.extra_names:
            flags += ["--extra", extra]
        return tuple(flags)

    @property
    def sync_selection(self) -> tuple[str, ...]:
        """What ``uv sync`` (and ``uv export``) install: the member, the extras, no groups.

        ``--no-dev`` leaves out the ``dev`` group; a project that sets ``[tool.uv]
        default-groups`` (or a ``groups`` setting) gets ``--no-default-groups`` and
        the groups meant for production, so no test or lint group slips in.
        """
        flags = list(self.member_selection)
        if self.project.groups is None:
            flags.append("--no-dev")
        else:
            flags.append("--no-default-groups")
            for group in self.project.groups.value:
                flags += ["--group", group]
        return tuple(flags)

    def build_command(self, dockerfile: str = "Dockerfile") -> str:
        """The ``docker buildx build`` line for the generated Dockerfile, secrets included.

        For files in a workspace member's directory, the line runs from that directory:
        the context is the workspace root (``..``), the Dockerfile the one beside it.
        """
        flags = [s.build_flag for s in self.secrets if s.required]
        if self.ssh:
            flags.append("--ssh default")
        context = "."
        if self.project.in_subdirectory:
            context = self.project.context_from_root
            flags.insert(0, f"-f {shlex.quote(dockerfile)}")
        elif dockerfile != "Dockerfile":
            flags.insert(0, f"-f {shlex.quote(dockerfile)}")
        tag = shlex.quote(self.project.name.lower())  # repository names are lowercase
        return " ".join(["docker buildx build", *flags, "-t", tag, shlex.quote(context)])

    def to_data(self) -> dict[str, Any]:
        """The plan as JSON-ready data (``uvdock plan --format json``)."""
        project = self.project
        entry = self.entrypoint
        return {
            "project": {
                "root": str(project.root),
                "name": project.name,
                "version": project.version,
                "packaged": project.packaged,
                "dependency_source": _fact(project.dependency_source),
                "requirements_file": (
                    project.requirements_file.name if project.requirements_file else None
                ),
                "lock": None
                if project.lock is None
                else {"state": project.lock.state, "reason": project.lock.stale_reason},
                "workspace_members": [
                    {"name": m.name, "path": m.path.as_posix()} for m in project.workspace_members
                ],
                "context": str(project.context),
                "package": project.package,
                "app_path": project.app_path.as_posix(),
                "indexes": [
                    {"name": i.name, "url": without_credentials(i.url), "explicit": i.explicit}
                    for i in project.indexes
                ],
                "git_sources": [
                    {
                        "package": g.package,
                        "url": without_credentials(g.url),
                        "scheme": g.scheme,
                        "source": g.source,
                    }
                    for g in project.git_sources
                ],
                "python_pin": _fact(project.python_pin),
                "requires_python": _fact(project.requires_python),
                "vcs_versioning": project.vcs_versioning,
                "notes": list(project.notes),
            },
            "approach": self.approach,
            "sync": list(self.sync_selection),
            "groups": _fact(self.project.groups),
            "extras": _fact(self.project.extras),
            "python": _fact(self.python),
            "uv_version": _fact(self.uv_version),
            "base_image": _fact(self.base_image),
            "python_image": _fact(self.python_image),
            "uv_image": _fact(self.uv_image),
            "platforms": list(self.platforms),
            "entrypoint": None
            if entry is None
            else {
                "kind": entry.value.kind,
                "argv": list(entry.value.argv),
                "dev_argv": list(entry.value.dev_argv),
                "http": entry.value.http,
                "target": entry.value.target,
                "how": entry.value.how,
                "env": dict(entry.value.env),
                "source": entry.source,
            },
            "port": self.port if self.listens else None,
            "healthcheck": None
            if self.healthcheck is None
            else {"path": self.healthcheck.path, "source": self.healthcheck.source},
            "uid": self.uid,
            "secrets": [
                {
                    "id": s.id,
                    "purpose": s.purpose,
                    "required": s.required,
                    "build_flag": s.build_flag,
                }
                for s in self.secrets
            ],
            "ssh": self.ssh,
            "build_packages": [_fact(p) for p in self.build_packages],
            "runtime_packages": [_fact(p) for p in self.runtime_packages],
            "native_builds": [
                {
                    "package": n.package,
                    "version": n.version,
                    "platforms": list(n.platforms),
                    "reason": n.reason,
                    "cause": n.cause,
                    "backend": n.backend,
                    "needs": list(n.needs),
                    "needs_source": n.needs_source,
                }
                for n in self.native_builds
            ],
            "settings": {
                name: _fact(value) for name, value in sorted(self.settings.values.items())
            },
            "problems": [
                {"severity": p.severity, "message": p.message, "hint": p.hint}
                for p in self.problems
            ],
        }


def runtime_of(plan: BuildPlan) -> Runtime:
    """The final image's run-time settings for ``plan`` (``BuildPlan.runtime``)."""
    entry = plan.entrypoint.value if plan.entrypoint is not None else None
    env = (
        EnvVar(name="PATH", value=f"{VENV}/bin:$PATH"),
        EnvVar(name="VIRTUAL_ENV", value=VENV, daemonless_only=True),
        EnvVar(name="PYTHONUNBUFFERED", value="1"),
        *(EnvVar(name=k, value=v, literal=True) for k, v in (entry.env if entry else ())),
    )
    probe = health_probe(plan)
    return Runtime(
        venv=VENV,
        env=env,
        workdir=APP_DIR,
        user=f"{plan.uid}:{plan.uid}",
        command=entry.argv if entry is not None else None,
        ports=(plan.port,) if plan.listens else (),
        health=HealthProbe(argv=("python", "-c", probe)) if probe is not None else None,
        labels=image_labels(plan),
        files=_run_time_files(plan),
    )


def health_probe(plan: BuildPlan) -> str | None:
    """The Python one-liner the health check runs (no curl or wget needed in the image)."""
    check = plan.healthcheck
    if check is None:
        return None
    if check.path is not None:
        # repr() makes the URL a Python string literal whatever the path holds.
        url = repr(f"http://127.0.0.1:{check.port}{check.path}")
        return f"import urllib.request; urllib.request.urlopen({url}, timeout=4)"
    return f"import socket; socket.create_connection(('127.0.0.1', {check.port}), 4)"


def image_labels(plan: BuildPlan) -> tuple[tuple[str, str], ...]:
    """The OCI labels of the image."""
    project = plan.project
    labels = [("org.opencontainers.image.title", project.name)]
    for key, value in (
        ("version", project.version),
        ("description", project.description),
        ("licenses", project.license),
        ("source", project.source_url),
    ):
        if value:
            labels.append((f"org.opencontainers.image.{key}", value))
    labels.append(("org.opencontainers.image.base.name", plan.base_image.value))
    return tuple(labels)


def _run_time_files(plan: BuildPlan) -> tuple[tuple[str, str], ...]:
    entry = plan.entrypoint
    if entry is None or not plan.project.packaged:
        return ()  # code that is not installed is copied whole, these files with it
    app = inside_path(plan.project.app_path.as_posix(), "app directory")
    return tuple((f if app == "." else f"{app}/{f}", f) for f in entry.value.files)


def without_credentials(url: str) -> str:
    """``url`` with any user name and password in it replaced by ``***`` (output is logged)."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    host = authority.rsplit("@", 1)[1]
    return f"{scheme}://***@{host}{slash}{path}"


def _fact(value: Sourced[Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    inner = value.value
    if isinstance(inner, tuple):
        inner = list(inner)
    return {"value": inner, "source": value.source}
