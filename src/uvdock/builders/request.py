"""What ``uvdock build`` is asked to do, whatever the engine: one request, parsed once.

The CLI turns flags into a :class:`BuildRequest`; :func:`uvdock.api.build_project`
hands it to a :class:`Builder` (``docker buildx`` or the daemonless engine),
which maps it to its own settings. Where the image goes is a small sum type,
:data:`Output`, parsed from ``--push``/``--load``/``--output`` here and nowhere
else, so an engine never re-reads an ``--output`` string.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from uvdock._proc import run
from uvdock.errors import UsageError, UvdockError
from uvdock.plan.model import BuildPlan

Engine = Literal["docker", "oci"]


@dataclasses.dataclass(frozen=True)
class Load:
    """Into the local Docker Engine (the default)."""


@dataclasses.dataclass(frozen=True)
class Push:
    """To the registry the tag names."""


@dataclasses.dataclass(frozen=True)
class OciLayout:
    """An OCI image layout: a directory (daemonless) or a tar (buildx)."""

    dest: Path
    spec: str  # as given: buildx takes its other fields (name=, ...) too


@dataclasses.dataclass(frozen=True)
class DockerArchive:
    """A ``docker load``-able tar."""

    dest: Path
    spec: str


@dataclasses.dataclass(frozen=True)
class Passthrough:
    """Any other ``--output`` spec, handed to buildx as it is."""

    spec: str


Output = Load | Push | OciLayout | DockerArchive | Passthrough


def parse_output(*, push: bool, load: bool, spec: str | None) -> Output:
    """``--push`` / ``--load`` / ``--output SPEC`` as one :data:`Output` (mutually exclusive)."""
    if sum((push, load, spec is not None)) > 1:
        raise UsageError("--push, --load and --output exclude each other")
    if push:
        return Push()
    if spec is None:
        return Load()
    fields = dict(part.split("=", 1) for part in spec.split(",") if "=" in part)
    kind, dest = fields.get("type", ""), fields.get("dest")
    if dest and kind == "oci":
        return OciLayout(Path(dest), spec)
    if dest and kind == "docker":
        return DockerArchive(Path(dest), spec)
    return Passthrough(spec)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuildRequest:
    """One build: what to build it as, for which platforms, and where it goes.

    The engine-specific fields say which engine they are for; :meth:`check`
    refuses a field the chosen engine does not understand rather than ignore it.
    """

    tag: str
    engine: Engine = "docker"
    platforms: tuple[str, ...] = ()
    output: Output = Load()
    source_date_epoch: int | None = None
    pull: bool = False
    quiet: bool = False
    # docker only
    dockerfile: Path | None = None
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    builder: str | None = None
    network: str | None = None
    no_cache: bool = False
    reproducible: bool = False
    progress: str = "auto"
    # oci only
    bytecode: bool = True
    registry_ca: Path | None = None
    insecure_registries: frozenset[str] = frozenset()

    def check(self) -> None:
        """Refuse what the chosen engine cannot do (one usage error)."""
        if self.engine == "docker" and not self.bytecode:
            raise UsageError(
                "--no-bytecode is for --engine oci (the Dockerfile's UV_COMPILE_BYTECODE decides)"
            )
        if self.engine == "oci" and isinstance(self.output, Passthrough):
            raise UsageError(
                "--engine oci writes --output type=oci,dest=DIR or type=docker,dest=FILE"
            )


class BuildOutcome(Protocol):
    """What every engine's result says; engine details are on the result itself."""

    @property
    def tag(self) -> str: ...

    @property
    def seconds(self) -> float: ...

    @property
    def digest(self) -> str | None: ...

    def to_data(self) -> Mapping[str, object]: ...


Result_co = TypeVar("Result_co", bound=BuildOutcome, covariant=True)


class Builder(Protocol[Result_co]):
    """An engine that turns a plan into an image as a request says."""

    def build(self, plan: BuildPlan, request: BuildRequest) -> Result_co: ...


def source_date_epoch(root: Path, environ: Mapping[str, str]) -> int | None:
    """SOURCE_DATE_EPOCH from the environment, else the project's last git commit time."""
    value = environ.get("SOURCE_DATE_EPOCH", "")
    if value.isdigit():
        return int(value)
    try:
        done = run(["git", "-C", str(root), "log", "-1", "--format=%ct"], timeout=30)
    except UvdockError:
        return None  # no git: no default
    text = done.stdout.strip()
    return int(text) if done.ok and text.isdigit() else None


def insecure_hosts(values: tuple[str, ...]) -> frozenset[str]:
    """``--insecure-registry`` values (repeated, comma- or space-separated) as lowercase hosts."""
    hosts = {part.strip().lower() for value in values for part in value.replace(",", " ").split()}
    for host in sorted(hosts):
        if "/" in host:
            raise UsageError(
                f"--insecure-registry takes HOST[:PORT] as image references spell it, "
                f"not {host!r} (e.g. registry.lan:5000)"
            )
    return frozenset(hosts)


def uv_binary(environ: Mapping[str, str] | None = None) -> str:
    """The uv to run: $UV, else uv on PATH (the daemonless engine needs uv on this machine)."""
    environ = os.environ if environ is None else environ
    found = environ.get("UV") or shutil.which("uv")
    if not found:
        raise UvdockError(
            "the daemonless engine needs uv on this machine, and none was found",
            hint="install uv (https://docs.astral.sh/uv/) or set UV=/path/to/uv",
        )
    return found
