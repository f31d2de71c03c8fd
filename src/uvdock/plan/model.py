"""The build plan: pure data that the renderers and builders read."""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any, Literal

from uvdock.config import Approach, Settings
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
