"""``uvdock build --engine oci``: an image per platform from the base image and uv.lock.

No Docker daemon and no emulation: the base image comes from its registry (or
an OCI layout), each platform's dependencies are the target's wheels installed
by uv on this machine, and the image is written as deterministic layers,
config, manifests and an index. This module orchestrates; the flow:

1. resolve the base per platform and read its Python (:mod:`.base`, :mod:`.layers`);
2. export uv.lock once; per platform, the dependency layers, reused from the
   cache (:mod:`.cache`) while the lock is unchanged, else installed by uv;
3. the project's layer once per Python version (:mod:`.layers`);
4. per platform, the config from ``plan.runtime`` (:mod:`.config`) and the
   manifest; then the index (:mod:`.image`);
5. push, write an OCI layout or a ``docker load`` archive, or load into the
   engine (:mod:`.publish`).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

from uvdock._proc import Runner, default_runner
from uvdock.errors import UvdockError
from uvdock.oci.base import BaseImage, host_platform, resolve_base
from uvdock.oci.basepython import describe
from uvdock.oci.blobs import BlobStore
from uvdock.oci.image import BuiltImage, PlatformImage, write_image, write_index
from uvdock.oci.layers import LayerMaker
from uvdock.oci.model import LayerInfo, Platform, rfc3339
from uvdock.oci.ports import ClientFor, Event
from uvdock.oci.progress import Phases, TaskFactory, no_tasks
from uvdock.oci.publish import Output, publish, publisher_for
from uvdock.oci.pyenv import python_platform
from uvdock.plan.model import BuildPlan

__all__ = [
    "BaseImage",
    "OciRequest",
    "OciResult",
    "Output",
    "PlatformImage",
    "build_oci",
    "host_platform",
    "resolve_base",
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class OciRequest:
    tag: str
    platforms: tuple[str, ...]
    output: Output
    dest: Path | None = None  # the layout directory or archive file
    source_date_epoch: int = 0
    cache_dir: Path | None = None
    uv: str = "uv"
    pull: bool = False  # ask the base's registry now, even if its tag was resolved lately
    bytecode: bool = True  # compile .pyc files when a host Python of the target's version exists


@dataclasses.dataclass(frozen=True, kw_only=True)
class OciResult:
    tag: str
    digest: str  # the index's (several platforms) or the manifest's (one)
    output: str
    seconds: float
    platforms: tuple[PlatformImage, ...]
    notes: tuple[str, ...] = ()
    # Seconds per step: base (resolve, find its Python), install, layers, project,
    # and the output (push, oci, docker or load); steps that did nothing are absent.
    phases: dict[str, float] = dataclasses.field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        return {
            "engine": "oci",
            "tag": self.tag,
            "digest": self.digest,
            "output": self.output,
            "seconds": round(self.seconds, 3),
            "platforms": [dataclasses.asdict(p) for p in self.platforms],
            "notes": list(self.notes),
            "phases": {name: round(seconds, 3) for name, seconds in self.phases.items()},
        }


def build_oci(
    plan: BuildPlan,
    request: OciRequest,
    *,
    on_event: Event,
    client_for: ClientFor,
    tasks: TaskFactory = no_tasks,
    runner: Runner = default_runner,
) -> OciResult:
    """Build ``plan``'s image as ``request`` says; a file that cannot be used is one error.

    ``client_for`` gives a registry client per host; ``runner`` runs uv and docker.
    """
    try:
        return _Build(plan, request, on_event=on_event, client_for=client_for, tasks=tasks,
                      runner=runner).run()  # fmt: skip
    except OSError as err:
        where = err.filename or BlobStore(request.cache_dir).root
        raise UvdockError(
            f"cannot use {where} ({err.strerror or err})",
            hint="the cache ($XDG_CACHE_HOME/uvdock, default ~/.cache/uvdock) and the "
            "temporary directory must be writable directories with free space",
        ) from err


class _Build:
    """One build: the request's seams, the blob store, the time per phase, notes."""

    def __init__(
        self,
        plan: BuildPlan,
        request: OciRequest,
        *,
        on_event: Event,
        client_for: ClientFor,
        tasks: TaskFactory,
        runner: Runner,
    ) -> None:
        self.plan = plan
        self.request = request
        self.on_event = on_event
        self.client_for = client_for
        self.tasks = tasks
        self.runner = runner
        self.store = BlobStore(request.cache_dir)
        self.phases = Phases()
        self.notes: list[str] = []

    def run(self) -> OciResult:
        started = time.monotonic()
        plan, request = self.plan, self.request
        _check_buildable(plan)
        platforms = [Platform.parse(p) for p in request.platforms] or [host_platform()]
        created = rfc3339(request.source_date_epoch)
        self.on_event(f"base  {plan.base_image.value} ({', '.join(str(p) for p in platforms)})")
        with self.phases.time("base"):
            bases = resolve_base(
                plan.base_image.value, platforms, self.store, client_for=self.client_for,
                on_event=self.on_event, pull=request.pull, tasks=self.tasks, runner=self.runner,
            )  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="uvdock-oci-") as tmp:
            maker = LayerMaker(
                plan, self.store, Path(tmp), uv=request.uv, epoch=request.source_date_epoch,
                on_event=self.on_event, tasks=self.tasks, phases=self.phases, runner=self.runner,
            )  # fmt: skip
            images, summaries = self._images(maker, bases, created=created)
        top = write_index(self.store, images, created=created)
        sink = publisher_for(
            request.output, store=self.store, tag=request.tag, dest=request.dest,
            epoch=request.source_date_epoch, client_for=self.client_for,
            on_event=self.on_event, tasks=self.tasks, runner=self.runner,
        )  # fmt: skip
        with self.phases.time(request.output):
            publish(sink, top, images, dest=request.dest)
        return OciResult(
            tag=request.tag,
            digest=top.descriptor.digest,
            output=request.output,
            seconds=time.monotonic() - started,
            platforms=tuple(summaries),
            notes=tuple(dict.fromkeys(self.notes)),
            phases=dict(self.phases.seconds),
        )

    def _images(
        self, maker: LayerMaker, bases: list[BaseImage], *, created: str
    ) -> tuple[list[BuiltImage], list[PlatformImage]]:
        """Each platform's image: its dependency layers (platforms at once), then the project's."""
        # Reading each base's layers (decompression, which releases the GIL) in parallel.
        with (
            concurrent.futures.ThreadPoolExecutor(max_workers=len(bases)) as pool,
            self.tasks("find the base's Python"),
            self.phases.time("base"),
        ):
            targets = list(pool.map(maker.base_python, bases))
        hosts: dict[str, str | None] = {}
        for target in targets:
            if target.version not in hosts:
                hosts[target.version] = (
                    maker.host_python(target.version) if self.request.bytecode else None
                )
                if hosts[target.version] is None and self.request.bytecode:
                    self.notes.append(
                        f"no Python {target.version} on this machine: bytecode not compiled "
                        "(the app compiles at start-up instead)"
                    )
        # Platforms at once: uv runs as a process, and gzip releases the GIL.
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(bases)) as pool:
            hosted = [hosts[target.version] for target in targets]
            per_platform = list(pool.map(maker.dependencies, bases, targets, hosted))
        project_layers: dict[str, tuple[LayerInfo, int | None]] = {}
        images: list[BuiltImage] = []
        summaries: list[PlatformImage] = []
        for base, target, deps in zip(bases, targets, per_platform, strict=True):
            tag = python_platform(base.platform.architecture, target)
            if target.version not in project_layers:
                with self.tasks(f"layer {self.plan.project.name}"), self.phases.time("project"):
                    project_layers[target.version] = maker.project(
                        target, python_platform=tag, host_python=hosts[target.version]
                    )
            project_layer, patched = project_layers[target.version]
            image = write_image(
                self.store, self.plan, base, dependencies=deps.layers, project=project_layer,
                python_platform=tag, created=created,
            )  # fmt: skip
            images.append(image)
            summaries.append(
                PlatformImage(
                    platform=str(base.platform),
                    digest=image.manifest.descriptor.digest,
                    size=image.size,
                    python=describe(target),
                    compiled=deps.compiled,
                    reused_dependencies=deps.reused,
                    patched_files=patched,
                )
            )
        return images, summaries


def _check_buildable(plan: BuildPlan) -> None:
    """Refuse what the daemonless engine cannot build, before any work."""
    if plan.project.lock is None:
        raise UvdockError(
            "the daemonless engine installs exactly what uv.lock says, and there is no uv.lock",
            hint="run `uv lock`, or use --engine docker",
        )
    if plan.entrypoint is None:
        raise UvdockError("no command to start", hint="set [tool.uvdock] command")
    if plan.runtime_packages:
        # Installing Debian packages means running apt in the base image: that is what
        # the daemonless engine does not do. Building without them would ship an image
        # that fails at start-up.
        names = ", ".join(p.value for p in plan.runtime_packages)
        raise UvdockError(
            f"the image needs Debian packages at run time ({names}), which the daemonless "
            "engine cannot install",
            hint="build with --engine docker, or use a base image that has them (--base-image)",
        )
