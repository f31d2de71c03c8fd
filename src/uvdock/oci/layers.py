"""uvdock's own layers: the dependencies (per platform), then the project.

Each layer is keyed by everything that defines it, so what did not change is
reused from the cache: the dependency layers while uv.lock is unchanged, a
large distribution's layer while its version is, and after a source edit of
a package the last install is patched instead of building a wheel
(:mod:`uvdock.oci.incremental`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import shutil
import threading
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from uvdock._proc import Runner, default_runner
from uvdock.errors import UvdockError
from uvdock.oci import incremental
from uvdock.oci.assemble import (
    compile_files,
    find_host_python,
    stage_dependencies,
    stage_project,
    stage_source,
)
from uvdock.oci.base import BaseImage
from uvdock.oci.basepython import describe, detect_python, scan_layers
from uvdock.oci.blobs import BlobStore
from uvdock.oci.cache import Cache
from uvdock.oci.layering import entries_for, rest_entries, split
from uvdock.oci.model import LayerInfo
from uvdock.oci.ports import Event
from uvdock.oci.progress import Phases, TaskFactory, no_tasks
from uvdock.oci.pyenv import (
    TargetPython,
    build_environment,
    build_project_wheel,
    export_requirements,
    python_platform,
)
from uvdock.oci.tarlayer import entries_from_directory, layer_selector, write_layer
from uvdock.plan.context import ignore_lines
from uvdock.plan.model import BuildPlan
from uvdock.project.model import ProjectInfo

__all__ = ["Dependencies", "LayerMaker"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Dependencies:
    """One platform's dependency layers, labelled, and how they came about."""

    layers: list[tuple[str, LayerInfo]]
    compiled: bool
    reused: bool


class LayerMaker:
    """Makes the layers of one build in ``work`` (a temporary directory), platforms at once.

    The requirements are exported once, the project's wheels built once on
    first need (not after a mere edit), and the project layer made once per
    Python version.
    """

    def __init__(
        self,
        plan: BuildPlan,
        store: BlobStore,
        work: Path,
        *,
        uv: str,
        epoch: int,
        on_event: Event,
        tasks: TaskFactory = no_tasks,
        phases: Phases | None = None,
        runner: Runner = default_runner,
    ) -> None:
        self.plan = plan
        self.store = store
        self.cache = Cache(store)
        self.work = work
        self.venv = plan.runtime.venv
        self.uv = uv
        self.epoch = epoch
        self.on_event = on_event
        self.tasks = tasks
        self.phases = phases or Phases()
        self.runner = runner
        self.requirements = self._export()
        self._requirements_hash = hashlib.sha256(self.requirements.read_text().encode()).hexdigest()
        self._wheels: list[Path] = []
        self._wheels_lock = threading.Lock()

    def base_python(self, base: BaseImage) -> TargetPython:
        """The base's Python, remembered per manifest (reading its layers takes seconds)."""

        def find() -> TargetPython:
            files, status = scan_layers([self.store.path(layer.digest) for layer in base.layers])
            return detect_python(base.config, files, status)

        return self.cache.base_python(base.manifest_digest, find)

    def host_python(self, version: str) -> str | None:
        """A Python ``version`` on this machine, remembered (finding it costs a uv run)."""
        find = lambda: find_host_python(version, uv=self.uv, runner=self.runner)  # noqa: E731
        return self.cache.host_python(version, find)

    def dependencies(
        self, base: BaseImage, target: TargetPython, host_python: str | None
    ) -> Dependencies:
        """One platform's dependency layers: reused while uv.lock is unchanged, else made."""
        arch = base.platform.architecture
        tag = python_platform(arch, target)
        self.on_event(f"python {base.platform}: {describe(target)} -> {tag}")
        key = layer_selector(
            {
                "kind": "dependencies",
                "requirements": self._requirements_hash,
                "architecture": arch,
                "python": dataclasses.asdict(target),
                "epoch": self.epoch,
                "venv": self.venv,
                "compiled": host_python is not None,
            }
        )
        cached = self.cache.dependency_layers(key)
        if cached is not None:
            self.on_event(f"layer {base.platform} dependencies reused (uv.lock unchanged)")
            return Dependencies(layers=cached, compiled=host_python is not None, reused=True)
        with self.tasks(f"install {base.platform} dependencies (uv)"), self.phases.time("install"):
            tree, compiled = stage_dependencies(
                self.work, architecture=arch, target=target, python_platform=tag,
                requirements=self.requirements, venv_path=self.venv, uv=self.uv,
                host_python=host_python, runner=self.runner,
                indexes=tuple(f"{i.name}={i.url}" for i in self.plan.project.indexes if i.name),
            )  # fmt: skip
        selector = {"architecture": arch, "python": dataclasses.asdict(target),
                    "epoch": self.epoch, "compiled": compiled, "venv": self.venv}  # fmt: skip
        with self.phases.time("layers"):
            made = self._dependency_layers(tree, target=target, selector=selector)
        self.cache.remember_dependency_layers(key, made)
        return Dependencies(layers=made, compiled=compiled, reused=False)

    def _dependency_layers(
        self, tree: Path, *, target: TargetPython, selector: dict[str, Any]
    ) -> list[tuple[str, LayerInfo]]:
        """Large distributions in their own layers (each reused while unchanged), then the rest.

        ``selector`` is what the distributions' files depend on besides their own
        name and version (platform, Python, epoch, bytecode).
        """
        site_in_image = f"{self.venv}/lib/python{target.version}/site-packages"
        site = tree / site_in_image.lstrip("/")
        layers: list[tuple[str, LayerInfo]] = []
        taken: set[str] = set()
        for dist in split(site):
            key = layer_selector({"distribution": dist.name, "version": dist.version,
                                  "tops": dist.tops, **selector})  # fmt: skip
            layer = self.store.get_selector(key)
            if layer is None:
                with self.tasks(f"layer {dist.name} {dist.version}"):
                    entries = entries_for(site, site_in_image, dist.tops)
                    layer = write_layer(entries, self.store, epoch=self.epoch)
                self.store.put_selector(key, layer)
            layers.append((f"{dist.name} {dist.version}", layer))
            taken.update(dist.tops)
            self.on_event(f"layer {dist.name} {dist.version} {layer.size / 1e6:.1f} MB")
        with self.tasks("layer of the other dependencies"):
            rest = write_layer(
                rest_entries(tree, site_in_image, taken), self.store, epoch=self.epoch
            )
        layers.append(("dependencies from uv.lock", rest))
        self.on_event(f"layer other dependencies {rest.size / 1e6:.1f} MB")
        return layers

    def project(
        self, target: TargetPython, *, python_platform: str, host_python: str | None
    ) -> tuple[LayerInfo, int | None]:
        """The project's layer: its installed wheels, or (not a package) its files at /app.

        After a source edit of a package with static metadata, the last install is
        patched instead (see :mod:`uvdock.oci.incremental`); the second value is
        the number of files patched then (None: built in full).
        """
        project = self.plan.project
        runtime = self.plan.runtime
        patched: int | None = None
        tree: Path | None = None
        if project.installs_local:
            tree, patched = self._installed_project(
                target, python_platform=python_platform, host_python=host_python
            )
        if not project.packaged:
            source, _ = stage_source(
                project.context / project.app_path,
                self.work,
                ignore_text=_dockerignore_text(self.plan),
                host_python=host_python,
                prefix="" if project.app_path.as_posix() == "." else project.app_path.as_posix(),
                runner=self.runner,
            )
            if tree is None:
                tree = source
            else:  # members or path dependencies installed, and the app's own files at /app
                shutil.copytree(source, tree, dirs_exist_ok=True)
        if tree is None:
            raise UvdockError(f"{project.name}: nothing to put in the project's layer")
        for in_context, in_app in runtime.files:
            destination = tree / runtime.workdir.lstrip("/") / in_app
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(project.context / in_context, destination)
        layer = write_layer(entries_from_directory(tree, prefix="/"), self.store, epoch=self.epoch)
        return layer, patched

    def _installed_project(
        self, target: TargetPython, *, python_platform: str, host_python: str | None
    ) -> tuple[Path, int | None]:
        """The project's wheels installed, or the last install with the edited files patched."""
        project = self.plan.project
        # Edits are patched in only for a lone package: the members and path
        # dependencies of a workspace are rebuilt.
        reusable = (
            not project.is_workspace
            and not project.local_packages
            and incremental.eligible(project.pyproject_text, project.root)
        )
        key = layer_selector(
            {"kind": "project", "root": str(project.root), "python": dataclasses.asdict(target),
             "venv": self.venv, "epoch": self.epoch, "compiled": host_python is not None}
        )  # fmt: skip
        snapshot_dir = self.cache.project_snapshot(key)
        snapshot = incremental.load(snapshot_dir) if reusable else None
        sources = incremental.scan(project.root, snapshot.sources if snapshot else None)
        changed = incremental.changed_files(snapshot, sources) if snapshot else None
        if snapshot is not None and changed is not None:
            tree = incremental.patch(
                snapshot, project.root, changed, self.work / f"project-{target.version}",
                compile_files=lambda root, files: host_python is not None
                and compile_files(root, files, python=host_python, runner=self.runner),
            )  # fmt: skip
            if changed:
                incremental.save(snapshot_dir, tree, sources, project.pyproject_text or "")
            self.on_event(
                f"layer {project.name}: {len(changed)} edited file(s) patched, no wheel build"
            )
            return tree, len(changed)
        tree, _ = stage_project(
            self.work, target=target, python_platform=python_platform, wheels=self._built(),
            venv_path=self.venv, uv=self.uv, host_python=host_python, runner=self.runner,
        )  # fmt: skip
        if reusable:
            incremental.save(snapshot_dir, tree, sources, project.pyproject_text or "")
        return tree, None

    def _built(self) -> list[Path]:
        """The project's wheels, built once, on first need (not after a mere edit)."""
        with self._wheels_lock:
            if not self._wheels:
                project = self.plan.project
                build_env = build_environment(
                    self.store.root, project.build_requires, uv=self.uv,
                    python=self.host_python(self.plan.python.value), runner=self.runner,
                )  # fmt: skip
                self._wheels.extend(
                    build_project_wheel(
                        project.context,
                        self.work / "dist",
                        uv=self.uv,
                        build_env=build_env,
                        targets=_wheel_targets(project),
                        runner=self.runner,
                    )
                )
            return self._wheels

    def _export(self) -> Path:
        """``uv export`` of the lock, remembered for the same uv.lock, pyproject.toml and uv."""
        root = self.plan.project.context
        selection = self.plan.sync_selection
        identity = hashlib.sha256()
        for path in (root / "uv.lock", root / "pyproject.toml"):
            identity.update(path.read_bytes() if path.is_file() else b"")
            identity.update(b"\0")
        identity.update(" ".join(selection).encode())
        uv_path = shutil.which(self.uv) or self.uv
        with contextlib.suppress(OSError):
            stat = Path(uv_path).stat()
            identity.update(f"{uv_path}:{stat.st_size}:{stat.st_mtime_ns}".encode())

        def export() -> str:
            return export_requirements(
                root, self.work, uv=self.uv, selection=selection, runner=self.runner
            ).read_text()

        out = self.work / "requirements.txt"
        text = self.cache.exported(identity.hexdigest(), export)
        out.write_text(text)
        return out


def _wheel_targets(project: ProjectInfo) -> tuple[str, ...]:
    """What ``uv build`` builds: the app (if a package), its members and path dependencies."""
    members = {str(canonicalize_name(m.name)): m for m in project.workspace_members}
    paths = {p.name: p.source_url for p in project.lock.packages  # type: ignore[union-attr]
             if p.source_kind in {"directory", "editable"} and p.source_url}  # fmt: skip
    targets: list[str] = []
    if project.packaged:
        targets.append(f"--package={project.package}" if project.package else ".")
    for name in project.local_packages:
        if name in members:
            targets.append(f"--package={members[name].name}")
        elif paths.get(name):
            targets.append(str(paths[name]))
    return tuple(dict.fromkeys(targets))


def _dockerignore_text(plan: BuildPlan) -> str:
    """The .dockerignore a Docker build would apply: the project's own, else uvdock's."""
    project = plan.project
    for own in (project.root / "Dockerfile.dockerignore", project.context / ".dockerignore"):
        if own.is_file() and (own.name == ".dockerignore" or project.in_subdirectory):
            return own.read_text(encoding="utf-8", errors="replace")
    return "\n".join(ignore_lines(plan)) + "\n"
