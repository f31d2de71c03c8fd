"""``uvdock build --engine oci``: an image per platform from the base image and uv.lock.

No Docker daemon and no emulation: the base image comes from its registry (or
an OCI layout), each platform's dependencies are the target's wheels installed
by uv on this machine, and the image is written as deterministic layers,
config, manifests and an index. The flow:

1. resolve the base per platform (index entries for other platforms and
   attestations skipped) and read its Python from its config and layers;
2. export uv.lock (hashes, no dev group) once and build the project's wheel
   once (pure Python);
3. per platform, install the wheels into a venv staged at its image path;
   the dependency layer is keyed by everything that defines it (a selector),
   so an unchanged lock reuses it without installing anything;
4. write the layers (dependencies, then the project), config, manifests,
   index; then push (blobs, manifests, the tagged index last), write an OCI
   layout, or a ``docker load`` archive.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import json
import platform
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from packaging.utils import canonicalize_name

from uvdock.errors import UvdockError
from uvdock.oci import incremental
from uvdock.oci.assemble import (
    compile_files,
    find_host_python,
    stage_dependencies,
    stage_project,
    stage_source,
)
from uvdock.oci.basepython import describe, detect_python, scan_layers
from uvdock.oci.blobs import BlobStore
from uvdock.oci.layering import entries_for, rest_entries, split
from uvdock.oci.model import (
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    History,
    JSONBlob,
    LayerInfo,
    Platform,
    build_config,
    build_index,
    build_manifest,
    config_env,
    convert_media_type,
    rfc3339,
)
from uvdock.oci.progress import (
    CountingWriter,
    TaskFactory,
    counting_opener,
    no_tasks,
)
from uvdock.oci.pyenv import (
    TargetPython,
    build_environment,
    build_project_wheel,
    export_requirements,
    python_platform,
)
from uvdock.oci.schema import check_config, check_index, check_manifest, parse_document
from uvdock.oci.tarlayer import entries_from_directory, layer_selector, write_layer
from uvdock.plan.model import BuildPlan
from uvdock.project.model import ProjectInfo
from uvdock.render.dockerfile import health_probe, image_labels, run_time_files
from uvdock.render.dockerignore import render_dockerignore

VENV = "/app/.venv"
Output = Literal["push", "oci", "docker", "load"]
Event = Callable[[str], None]


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
class PlatformImage:
    platform: str
    digest: str  # the manifest's
    size: int  # compressed bytes of all layers and the config
    python: str
    compiled: bool
    reused_dependencies: bool
    # Files patched into the last install after a source edit (no wheel built);
    # None when the project layer was built in full.
    patched_files: int | None = None


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


@dataclasses.dataclass(frozen=True, kw_only=True)
class BaseImage:
    """One platform of the base: its manifest, config and layers (blobs in the store)."""

    reference: str
    platform: Platform
    manifest_digest: str
    config: dict[str, Any]
    layers: tuple[Descriptor, ...]


# One platform's result: its base, manifest, config, own layers and summary.
Built = tuple[BaseImage, JSONBlob, JSONBlob, list[LayerInfo], PlatformImage]


def host_platform() -> Platform:
    """This machine's platform (Platform normalises x86_64/aarch64 to amd64/arm64)."""
    return Platform(os="linux", architecture=platform.machine())


def resolve_base(
    reference: str,
    platforms: Sequence[Platform],
    store: BlobStore,
    *,
    client_for: Callable[[str], Any],
    on_event: Event,
    pull: bool = False,
    tasks: TaskFactory = no_tasks,
) -> list[BaseImage]:
    """Each requested platform's base image, every blob verified and cached in ``store``.

    ``reference`` is an image in a registry, ``oci:DIR[:TAG]``: an OCI image
    layout directory (e.g. written by ``skopeo copy ... oci:DIR:TAG``), or
    ``docker-daemon:IMAGE``: an image in the local Docker Engine (as skopeo
    names it).
    """
    if reference.startswith("oci:"):
        return _base_from_layout(reference, platforms, store)
    if reference.startswith("docker-daemon:"):
        from uvdock.oci.daemon import saved_image  # noqa: PLC0415

        with saved_image(reference.removeprefix("docker-daemon:")) as (layout_dir, ref_name):
            where = f"oci:{layout_dir}:{ref_name}" if ref_name else f"oci:{layout_dir}"
            found = _base_from_layout(where, platforms, store)
        return [dataclasses.replace(image, reference=reference) for image in found]
    registry = _BaseRegistry(reference, store, client_for, tasks)
    body, media_type, top_digest = registry.top(pull=pull)
    where = f"{reference} ({top_digest})"
    document = parse_document(body, where=where)
    by_platform: dict[Platform, Descriptor] = {}
    is_index = media_type in INDEX_MEDIA_TYPES or "manifests" in document
    if is_index:
        for entry in check_index(document, where=where)["manifests"]:
            plat = entry.get("platform") or {}
            annotations = entry.get("annotations") or {}
            if plat.get("os") == "unknown" or "vnd.docker.reference.type" in annotations:
                continue  # attestations
            if entry["mediaType"] not in MANIFEST_MEDIA_TYPES:
                continue  # a nested index or an artifact: not an image to build on
            by_platform.setdefault(Platform.from_json(plat), Descriptor.from_json(entry))
        if not by_platform:
            raise UvdockError(
                f"{reference} is an index that names no image manifest",
                hint="use a base image built for linux (e.g. python:3.13-slim)",
            )
    images = []
    for wanted in platforms:
        if is_index:
            chosen = by_platform.get(wanted)
            if chosen is None:
                have = ", ".join(str(p) for p in by_platform)
                raise UvdockError(
                    f"{reference} has no {wanted} image (it has {have})",
                    hint="choose another --platform or a base image that has it",
                )
            digest = chosen.digest
            where = f"{reference} {wanted} manifest {digest}"
            manifest = check_manifest(
                parse_document(registry.by_digest(digest), where=where), where=where
            )
        else:
            digest = top_digest
            manifest = check_manifest(document, where=where)
        config_descriptor = Descriptor.from_json(manifest["config"])
        registry.fetch(config_descriptor.digest, size=config_descriptor.size)
        config_where = f"{reference} {wanted} config {config_descriptor.digest}"
        config = check_config(
            parse_document(store.read_bytes(config_descriptor.digest), where=config_where),
            where=config_where,
        )
        actual = Platform(os=config["os"], architecture=config["architecture"])
        if not by_platform and actual != wanted:
            raise UvdockError(
                f"{reference} is a single {actual} image, not {wanted}",
                hint="use a multi-platform base image, or build only for " + str(actual),
            )
        layers = tuple(Descriptor.from_json(layer) for layer in manifest["layers"])
        for layer in layers:
            if not store.has(layer.digest):
                size = f"{layer.size / 1e6:.1f} MB"
                on_event(f"pull  {reference} {wanted} layer {layer.digest[7:19]} ({size})")
                registry.fetch(layer.digest, size=layer.size)
        images.append(
            BaseImage(
                reference=reference,
                platform=wanted,
                manifest_digest=digest,
                config=config,
                layers=layers,
            )
        )
    return images


PUSH_CONCURRENCY = 4

# How long a base tag's resolution is reused without asking its registry
# (--pull asks now). Digest references never expire: they name content.
BASE_TAG_TTL_SECONDS = 600


class _BaseRegistry:
    """The base image's registry, asked only for what the cache does not hold.

    A warm rebuild needs no request at all: the tag's resolution is
    remembered for a while, manifests and blobs are in the store by digest.
    The registry client (and httpx) is only loaded when a request is needed.
    """

    def __init__(
        self,
        reference: str,
        store: BlobStore,
        client_for: Callable[[str], Any],
        tasks: TaskFactory = no_tasks,
    ) -> None:
        self.reference = reference
        self._tasks = tasks
        self.store = store
        self._client_for = client_for
        self._where: tuple[Any, str, str] | None = None

    def _client(self) -> tuple[Any, str, str]:
        if self._where is None:
            from uvdock.oci.registry import parse_reference  # noqa: PLC0415 - HTTP when needed

            host, repo, ref = parse_reference(self.reference)
            self._where = (self._client_for(host), repo, ref)
        return self._where

    def top(self, *, pull: bool) -> tuple[bytes, str, str]:
        """``(body, media type, digest)`` of what the reference names now (or lately)."""
        fact = f"base-tag-{hashlib.sha256(self.reference.encode()).hexdigest()[:32]}"
        remembered = None if pull else _recall(self.store, fact)
        pinned = "@sha256:" in self.reference
        if isinstance(remembered, dict) and self.store.has(str(remembered.get("digest"))):
            age = time.time() - float(remembered.get("at", 0))
            if pinned or 0 <= age < BASE_TAG_TTL_SECONDS:
                body = self.store.read_bytes(str(remembered["digest"]))
                return body, str(remembered.get("media_type", "")), str(remembered["digest"])
        client, repo, ref = self._client()
        body, media_type, digest = client.get_manifest(repo, ref)
        self.store.put_bytes(body, expected_digest=digest)
        record = {"digest": digest, "media_type": media_type, "at": time.time()}
        _remember(self.store, fact, record)
        return body, media_type, digest

    def by_digest(self, digest: str) -> bytes:
        """A manifest by digest: from the store when it is there."""
        if not self.store.has(digest):
            client, repo, _ = self._client()
            body, _, digest = client.get_manifest(repo, digest)
            self.store.put_bytes(body, expected_digest=digest)
        return self.store.read_bytes(digest)

    def fetch(self, digest: str, *, size: int) -> None:
        """Download a blob into the store unless it is there (verified against its digest).

        ``size`` is the descriptor's: no more than that (plus one byte) is
        downloaded, whatever the registry sends (issue 12).
        """
        if not self.store.has(digest):
            client, repo, _ = self._client()
            self.store.tmp_dir.mkdir(parents=True, exist_ok=True)
            with (
                tempfile.TemporaryFile(dir=self.store.tmp_dir) as download,
                self._tasks(f"pull {digest[7:19]}", size) as task,
            ):
                client.get_blob(repo, digest, CountingWriter(download, task), size=size)
                download.seek(0)
                self.store.put_file(download, expected_digest=digest, expected_size=size)


def _base_from_layout(
    reference: str, platforms: Sequence[Platform], store: BlobStore
) -> list[BaseImage]:
    from uvdock.oci.layout import read_layout  # noqa: PLC0415

    location = reference.removeprefix("oci:")
    path, _, tag = location.rpartition(":") if ":" in location else (location, "", "")
    if not Path(path).is_dir():
        path, tag = location, ""
    layout = read_layout(Path(path))
    images = []
    for wanted in platforms:
        image = layout.image(ref_name=tag or None, platform=wanted)
        layout.import_into(store, image)
        images.append(
            BaseImage(
                reference=reference,
                platform=wanted,
                manifest_digest=image.descriptor.digest,
                config=dict(image.config),
                layers=tuple(image.layers),
            )
        )
    return images


def _selector_inputs(
    requirements: str, arch: str, target: TargetPython, epoch: int, *, compiled: bool
) -> dict[str, Any]:
    return {
        "kind": "dependencies",
        "requirements": hashlib.sha256(requirements.encode()).hexdigest(),
        "architecture": arch,
        "python": dataclasses.asdict(target),
        "epoch": epoch,
        "venv": VENV,
        "compiled": compiled,
    }


def build_oci(
    plan: BuildPlan,
    request: OciRequest,
    *,
    on_event: Event,
    client_for: Callable[[str], Any],
    tasks: TaskFactory = no_tasks,
) -> OciResult:
    """Build ``plan``'s image as ``request`` says; a file that cannot be used is one error."""
    try:
        return _build(plan, request, on_event=on_event, client_for=client_for, tasks=tasks)
    except OSError as err:
        where = err.filename or BlobStore(request.cache_dir).root
        raise UvdockError(
            f"cannot use {where} ({err.strerror or err})",
            hint="the cache ($XDG_CACHE_HOME/uvdock, default ~/.cache/uvdock) and the "
            "temporary directory must be writable directories with free space",
        ) from err


def _build(  # noqa: PLR0915 - one linear pipeline, commented step by step
    plan: BuildPlan,
    request: OciRequest,
    *,
    on_event: Event,
    client_for: Callable[[str], Any],
    tasks: TaskFactory,
) -> OciResult:
    started = time.monotonic()
    phases = _Phases()
    project = plan.project
    if project.lock is None:
        raise UvdockError(
            "the daemonless engine installs exactly what uv.lock says, and there is no uv.lock",
            hint="run `uv lock`, or use --engine docker",
        )
    entry = plan.entrypoint
    if entry is None:
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
    store = BlobStore(request.cache_dir)
    platforms = [Platform.parse(p) for p in request.platforms] or [host_platform()]
    notes: list[str] = []
    epoch = request.source_date_epoch
    created = rfc3339(epoch)
    on_event(f"base  {plan.base_image.value} ({', '.join(str(p) for p in platforms)})")
    with phases.time("base"):
        bases = resolve_base(
            plan.base_image.value,
            platforms,
            store,
            client_for=client_for,
            on_event=on_event,
            pull=request.pull,
            tasks=tasks,
        )
    with tempfile.TemporaryDirectory(prefix="uvdock-oci-") as tmp:
        work = Path(tmp)
        requirements = _exported_requirements(
            store, project.context, work, uv=request.uv, selection=plan.sync_selection
        )
        requirements_text = requirements.read_text()
        hosts: dict[str, str | None] = {}
        built: list[Path] = []

        def wheels() -> list[Path]:
            """The project's wheels, built once, on first need (not after a mere edit)."""
            if not built:
                build_env = build_environment(
                    store.root,
                    project.build_requires,
                    uv=request.uv,
                    python=_host_python(store, plan.python.value, request.uv),
                )
                built.extend(
                    build_project_wheel(
                        project.context,
                        work / "dist",
                        uv=request.uv,
                        build_env=build_env,
                        targets=_wheel_targets(project),
                    )
                )
            return built

        project_layers: dict[str, tuple[LayerInfo, int | None]] = {}
        images: list[Built] = []
        # Reading each base's layers (decompression, which releases the GIL) in parallel.
        with (
            concurrent.futures.ThreadPoolExecutor(max_workers=len(bases)) as pool,
            tasks("find the base's Python"),
            phases.time("base"),
        ):
            targets = list(pool.map(lambda b: _base_python(store, b), bases))
        for target in targets:
            if target.version not in hosts:
                hosts[target.version] = (
                    _host_python(store, target.version, request.uv) if request.bytecode else None
                )
                if hosts[target.version] is None and request.bytecode:
                    notes.append(
                        f"no Python {target.version} on this machine: bytecode not compiled "
                        "(the app compiles at start-up instead)"
                    )

        def dependencies(base: BaseImage, target: TargetPython) -> _Dependencies:
            """One platform's dependency layers: reused while uv.lock is unchanged, else made."""
            arch = base.platform.architecture
            tag = python_platform(arch, target)
            on_event(f"python {base.platform}: {describe(target)} -> {tag}")
            host_python = hosts[target.version]
            key = layer_selector(
                _selector_inputs(
                    requirements_text, arch, target, epoch, compiled=host_python is not None
                )
            )
            cached = _load_layers(store, key)
            if cached is not None:
                on_event(f"layer {base.platform} dependencies reused (uv.lock unchanged)")
                return _Dependencies(cached, compiled=host_python is not None, reused=True)
            with tasks(f"install {base.platform} dependencies (uv)"), phases.time("install"):
                deps_tree, compiled = stage_dependencies(
                    work,
                    architecture=arch,
                    target=target,
                    python_platform=tag,
                    requirements=requirements,
                    venv_path=VENV,
                    uv=request.uv,
                    host_python=host_python,
                    indexes=tuple(f"{i.name}={i.url}" for i in project.indexes if i.name),
                )
            with phases.time("layers"):
                made = _dependency_layers(
                    store,
                    deps_tree,
                    target=target,
                    epoch=epoch,
                    selector={
                        "architecture": arch,
                        "python": dataclasses.asdict(target),
                        "epoch": epoch,
                        "compiled": compiled,
                        "venv": VENV,
                    },
                    on_event=on_event,
                    tasks=tasks,
                )
            _save_layers(store, key, made)
            return _Dependencies(made, compiled=compiled, reused=False)

        # Platforms at once: uv runs as a process, and gzip releases the GIL.
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(bases)) as pool:
            per_platform = list(pool.map(dependencies, bases, targets))
        for base, target, deps in zip(bases, targets, per_platform, strict=True):
            tag = python_platform(base.platform.architecture, target)
            host_python = hosts[target.version]
            deps_layers, compiled = deps.layers, deps.compiled
            if target.version not in project_layers:
                with tasks(f"layer {project.name}"), phases.time("project"):
                    project_layers[target.version] = _project_layer(
                        work, store, plan=plan, target=target, python_platform=tag, wheels=wheels,
                        uv=request.uv, host_python=host_python, epoch=epoch, on_event=on_event,
                    )  # fmt: skip
            project_layer, patched = project_layers[target.version]
            history = [
                *(
                    History(created_by=f"uvdock: {label} for {tag}", comment="uvdock oci engine")
                    for label, _ in deps_layers
                ),
                History(
                    created_by=f"uvdock: {project.name} {project.version or ''}".rstrip(),
                    comment="uvdock oci engine",
                ),
            ]
            base_env = config_env(base.config)
            config = build_config(
                base.config,
                diff_ids=[*(layer.diff_id for _, layer in deps_layers), project_layer.diff_id],
                history=history,
                created=created,
                platform=base.platform,
                env={
                    "PATH": f"{VENV}/bin:" + base_env.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
                    "VIRTUAL_ENV": VENV,
                    "PYTHONUNBUFFERED": "1",
                    **dict(entry.value.env),
                },
                user=f"{plan.uid}:{plan.uid}",
                working_dir="/app",
                entrypoint=[],
                cmd=list(entry.value.argv),
                labels=dict(image_labels(plan)),
            )
            _runtime_extras(config, plan)
            config_blob = JSONBlob.encode(config, media_type=OCI_CONFIG)
            store.put_bytes(config_blob.data, expected_digest=config_blob.descriptor.digest)
            layers = [
                *(
                    layer.replace(media_type=convert_media_type(layer.media_type, "oci"))
                    for layer in base.layers
                ),
                *(layer.descriptor() for _, layer in deps_layers),
                project_layer.descriptor(),
            ]
            manifest = build_manifest(
                config=config_blob.descriptor,
                layers=layers,
                annotations={
                    "org.opencontainers.image.base.name": base.reference,
                    "org.opencontainers.image.base.digest": base.manifest_digest,
                    "org.opencontainers.image.created": created,
                },
            )
            manifest_blob = JSONBlob.encode(
                manifest, media_type=OCI_MANIFEST, platform=base.platform
            )
            store.put_bytes(manifest_blob.data, expected_digest=manifest_blob.descriptor.digest)
            size = config_blob.descriptor.size + sum(layer.size for layer in layers)
            images.append(
                (
                    base,
                    manifest_blob,
                    config_blob,
                    [*(layer for _, layer in deps_layers), project_layer],
                    PlatformImage(
                        platform=str(base.platform),
                        digest=manifest_blob.descriptor.digest,
                        size=size,
                        python=describe(target),
                        compiled=compiled,
                        reused_dependencies=deps.reused,
                        patched_files=patched,
                    ),
                )
            )
    index = build_index(
        [blob.descriptor for _, blob, _, _, _ in images],
        annotations={"org.opencontainers.image.created": created},
    )
    index_blob = JSONBlob.encode(index, media_type=OCI_INDEX)
    store.put_bytes(index_blob.data, expected_digest=index_blob.descriptor.digest)
    top = index_blob if len(images) > 1 else images[0][1]
    with phases.time(request.output):
        _write_output(
            request, store, top, images, client_for=client_for, on_event=on_event, tasks=tasks
        )
    return OciResult(
        tag=request.tag,
        digest=top.descriptor.digest,
        output=request.output,
        seconds=time.monotonic() - started,
        platforms=tuple(image for *_, image in images),
        notes=tuple(dict.fromkeys(notes)),
        phases=dict(phases.seconds),
    )


@dataclasses.dataclass(frozen=True)
class _Dependencies:
    layers: list[tuple[str, LayerInfo]]
    compiled: bool
    reused: bool


class _Phases:
    """Time spent per step of a build (summed over platforms, which run at once)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def time(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - start


def _recall(store: BlobStore, name: str) -> Any:
    """A fact remembered in the cache (JSON), or None."""
    try:
        return json.loads((store.root / "facts" / f"{name.replace(':', '-')}.json").read_text())
    except (OSError, ValueError):
        return None


def _remember(store: BlobStore, name: str, value: Any) -> None:
    """Remember a fact (atomically: a concurrent build reads the old or the new one)."""
    path = store.root / "facts" / f"{name.replace(':', '-')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as out:
        out.write(json.dumps(value))
    Path(out.name).replace(path)


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


def _exported_requirements(
    store: BlobStore, root: Path, work: Path, *, uv: str, selection: tuple[str, ...]
) -> Path:
    """``uv export`` of the lock, remembered for the same uv.lock, pyproject.toml and uv."""
    identity = hashlib.sha256()
    for path in (root / "uv.lock", root / "pyproject.toml"):
        identity.update(path.read_bytes() if path.is_file() else b"")
        identity.update(b"\0")
    identity.update(" ".join(selection).encode())
    uv_path = shutil.which(uv) or uv
    with contextlib.suppress(OSError):
        stat = Path(uv_path).stat()
        identity.update(f"{uv_path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    fact = f"export-{identity.hexdigest()[:32]}"
    remembered = _recall(store, fact)
    out = work / "requirements.txt"
    if isinstance(remembered, str):
        out.write_text(remembered)
        return out
    exported = export_requirements(root, work, uv=uv, selection=selection)
    _remember(store, fact, exported.read_text())
    return exported


def _load_layers(store: BlobStore, key: str) -> list[tuple[str, LayerInfo]] | None:
    """The dependency layers recorded for ``key``, when every blob is still in the store."""
    try:
        layers = [(str(r["label"]), LayerInfo(**r["layer"])) for r in _recall(store, f"deps-{key}")]
    except (KeyError, TypeError):
        return None
    return layers if all(store.has(layer.digest) for _, layer in layers) else None


def _save_layers(store: BlobStore, key: str, layers: list[tuple[str, LayerInfo]]) -> None:
    records = [{"label": label, "layer": dataclasses.asdict(layer)} for label, layer in layers]
    _remember(store, f"deps-{key}", records)


def _dependency_layers(
    store: BlobStore,
    tree: Path,
    *,
    target: TargetPython,
    epoch: int,
    selector: dict[str, Any],
    on_event: Event,
    tasks: TaskFactory = no_tasks,
) -> list[tuple[str, LayerInfo]]:
    """Large distributions in their own layers (each reused while unchanged), then the rest.

    ``selector`` is what the distributions' files depend on besides their own
    name and version (platform, Python, epoch, bytecode).
    """
    site_in_image = f"{VENV}/lib/python{target.version}/site-packages"
    site = tree / site_in_image.lstrip("/")
    layers: list[tuple[str, LayerInfo]] = []
    taken: set[str] = set()
    for dist in split(site):
        key = layer_selector({"distribution": dist.name, "version": dist.version,
                              "tops": dist.tops, **selector})  # fmt: skip
        layer = store.get_selector(key)
        if layer is None:
            with tasks(f"layer {dist.name} {dist.version}"):
                layer = write_layer(entries_for(site, site_in_image, dist.tops), store, epoch=epoch)
            store.put_selector(key, layer)
        layers.append((f"{dist.name} {dist.version}", layer))
        taken.update(dist.tops)
        on_event(f"layer {dist.name} {dist.version} {layer.size / 1e6:.1f} MB")
    with tasks("layer of the other dependencies"):
        rest = write_layer(rest_entries(tree, site_in_image, taken), store, epoch=epoch)
    layers.append(("dependencies from uv.lock", rest))
    on_event(f"layer other dependencies {rest.size / 1e6:.1f} MB")
    return layers


def _host_python(store: BlobStore, version: str, uv: str) -> str | None:
    """A Python ``version`` on this machine, remembered (finding it costs a uv run)."""
    remembered = _recall(store, f"host-python-{version}")
    if isinstance(remembered, str) and Path(remembered).is_file():
        return remembered
    found = find_host_python(version, uv=uv)
    if found:
        _remember(store, f"host-python-{version}", found)
    return found


def _base_python(store: BlobStore, base: BaseImage) -> TargetPython:
    """The base's Python, remembered per base manifest (reading 50 MB of layers takes seconds)."""
    name = f"python-of-{base.manifest_digest}"
    remembered = _recall(store, name)
    if isinstance(remembered, dict):
        try:
            return TargetPython(**remembered)
        except TypeError:
            pass  # written by another version: find it again
    files, status = scan_layers([store.path(layer.digest) for layer in base.layers])
    target = detect_python(base.config, files, status)
    _remember(store, name, dataclasses.asdict(target))
    return target


def _project_layer(
    work: Path,
    store: BlobStore,
    *,
    plan: BuildPlan,
    target: TargetPython,
    python_platform: str,
    wheels: Callable[[], list[Path]],
    uv: str,
    host_python: str | None,
    epoch: int,
    on_event: Event,
) -> tuple[LayerInfo, int | None]:
    """The project's layer: its installed wheels, or (not a package) its files at /app.

    After a source edit of a package with static metadata, the last install is
    patched instead (see :mod:`uvdock.oci.incremental`).
    """
    project = plan.project
    patched: int | None = None
    tree: Path | None = None
    if project.installs_local:
        # Edits are patched in only for a lone package: the members and path
        # dependencies of a workspace are rebuilt.
        reusable = (
            not project.is_workspace
            and not project.local_packages
            and incremental.eligible(project.pyproject_text, project.root)
        )
        key = layer_selector(
            {"kind": "project", "root": str(project.root), "python": dataclasses.asdict(target),
             "venv": VENV, "epoch": epoch, "compiled": host_python is not None}
        )  # fmt: skip
        snapshot_dir = store.root / "projects" / key
        snapshot = incremental.load(snapshot_dir) if reusable else None
        sources = incremental.scan(project.root, snapshot.sources if snapshot else None)
        changed = incremental.changed_files(snapshot, sources) if snapshot else None
        if snapshot is not None and changed is not None:
            tree = incremental.patch(
                snapshot, project.root, changed, work / f"project-{target.version}",
                compile_files=lambda root, files: host_python is not None
                and compile_files(root, files, python=host_python),
            )  # fmt: skip
            patched = len(changed)
            if changed:
                incremental.save(snapshot_dir, tree, sources, project.pyproject_text or "")
            on_event(f"layer {project.name}: {len(changed)} edited file(s) patched, no wheel build")
        else:
            tree, _ = stage_project(
                work, target=target, python_platform=python_platform, wheels=wheels(),
                venv_path=VENV, uv=uv, host_python=host_python,
            )  # fmt: skip
            if reusable:
                incremental.save(snapshot_dir, tree, sources, project.pyproject_text or "")
    if not project.packaged:
        source, _ = stage_source(
            project.context / project.app_path,
            work,
            ignore_text=_dockerignore_text(plan),
            host_python=host_python,
            prefix="" if project.app_path.as_posix() == "." else project.app_path.as_posix(),
        )
        if tree is None:
            tree = source
        else:  # members or path dependencies installed, and the app's own files at /app
            shutil.copytree(source, tree, dirs_exist_ok=True)
    if tree is None:
        raise UvdockError(f"{project.name}: nothing to put in the project's layer")
    for in_context, in_app in run_time_files(plan):
        destination = tree / "app" / in_app
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project.context / in_context, destination)
    layer = write_layer(entries_from_directory(tree, prefix="/"), store, epoch=epoch)
    return layer, patched


def _dockerignore_text(plan: BuildPlan) -> str:
    """The .dockerignore a Docker build would apply: the project's own, else uvdock's."""
    project = plan.project
    for own in (project.root / "Dockerfile.dockerignore", project.context / ".dockerignore"):
        if own.is_file() and (own.name == ".dockerignore" or project.in_subdirectory):
            return own.read_text(encoding="utf-8", errors="replace")
    return render_dockerignore(plan, regenerate="uvdock")


SECOND_NS = 1_000_000_000


def _runtime_extras(config: dict[str, Any], plan: BuildPlan) -> None:
    """EXPOSE and HEALTHCHECK, as the generated Dockerfile sets them."""
    run = config.setdefault("config", {})
    if plan.listens:
        run["ExposedPorts"] = {f"{plan.port}/tcp": {}}
    probe = health_probe(plan)
    if probe is not None:
        run["Healthcheck"] = {
            "Test": ["CMD", "python", "-c", probe],
            "Interval": 30 * SECOND_NS,
            "Timeout": 5 * SECOND_NS,
            "StartPeriod": 10 * SECOND_NS,
            "Retries": 3,
        }


def _write_output(
    request: OciRequest,
    store: BlobStore,
    top: JSONBlob,
    images: list[Built],
    *,
    client_for: Callable[[str], Any],
    on_event: Event,
    tasks: TaskFactory = no_tasks,
) -> None:
    """Push, or write the layout or archive, or load; an unwritable destination is one line."""
    try:
        _write_local_or_push(
            request, store, top, images, client_for=client_for, on_event=on_event, tasks=tasks
        )
    except OSError as err:
        where = err.filename or request.dest or "the output"
        raise UvdockError(
            f"cannot write {where} ({err.strerror or err})",
            hint="check that the destination's directory exists and is writable",
        ) from err


def _write_local_or_push(
    request: OciRequest,
    store: BlobStore,
    top: JSONBlob,
    images: list[Built],
    *,
    client_for: Callable[[str], Any],
    on_event: Event,
    tasks: TaskFactory,
) -> None:
    from uvdock.oci.layout import write_docker_archive, write_layout  # noqa: PLC0415

    if request.output == "push":
        _push(request, store, top, images, client_for=client_for, on_event=on_event, tasks=tasks)
    elif request.output == "oci":
        dest = request.dest or Path("oci-layout")
        write_layout(dest, store=store, image=top.descriptor, ref_name=_tag_of(request.tag))
        on_event(f"wrote OCI layout {dest} ({_tag_of(request.tag)})")
    else:
        host = host_platform()
        chosen = next((base.platform for base, *_ in images if base.platform == host), None)
        if chosen is None:
            if request.output == "load" or len(images) > 1:
                raise UvdockError(
                    f"a docker archive or --load holds one platform, and {host} was not built",
                    hint=f"add --platform {host}, or push the index instead (--push)",
                )
            chosen = images[0][0].platform
        if request.output == "load":
            _load_into_engine(request, store, top, chosen, images, on_event=on_event)
            return
        archive = request.dest or Path("uvdock-image.tar")
        write_docker_archive(
            archive, store=store, image=top.descriptor, tags=[request.tag],
            platform=chosen, epoch=request.source_date_epoch,
        )  # fmt: skip
        on_event(f"wrote docker archive {archive} ({chosen})")


def _load_into_engine(
    request: OciRequest,
    store: BlobStore,
    top: JSONBlob,
    chosen: Platform,
    images: list[Built],
    *,
    on_event: Event,
) -> None:
    """``docker load`` the image, sending only the layers the engine lacks.

    The layers of the image the tag names now (usually the last build) that
    are the same bottom layers as the new image's are left out of the
    archive; if the engine refuses that archive (it pruned them), the whole
    image is loaded.
    """
    from uvdock._proc import run  # noqa: PLC0415
    from uvdock.oci.layout import write_docker_archive  # noqa: PLC0415

    base, _, config_blob, _, _ = next(image for image in images if image[0].platform == chosen)
    config = json.loads(config_blob.data)
    ours: list[str] = list(config.get("rootfs", {}).get("diff_ids", []))
    inspect = run(["docker", "image", "inspect", "-f", "{{json .RootFS.Layers}}", request.tag])
    have: list[str] = []
    if inspect.returncode == 0:
        with contextlib.suppress(ValueError):
            have = list(json.loads(inspect.stdout) or [])
    shared = 0
    while shared < min(len(have), len(ours)) and have[shared] == ours[shared]:
        shared += 1
    if base.reference.startswith("docker-daemon:"):
        shared = max(shared, len(base.layers))  # the engine just gave us these
    failure = ""
    with tempfile.TemporaryDirectory(prefix="uvdock-load-") as tmp:
        for omit in dict.fromkeys((shared, 0)):
            archive = Path(tmp) / f"image-{omit}.tar"
            write_docker_archive(
                archive, store=store, image=top.descriptor, tags=[request.tag],
                platform=chosen, epoch=request.source_date_epoch, omit_layers=omit,
            )  # fmt: skip
            done = run(["docker", "load", "-i", str(archive)])
            if done.returncode == 0:
                sent = f"{len(ours) - omit} of {len(ours)} layers sent"
                on_event(f"loaded {request.tag} ({chosen}) into the local engine ({sent})")
                return
            failure = done.stderr.strip()
    raise UvdockError(
        f"docker load failed: {failure}",
        hint="is the Docker Engine running? (uvdock doctor); or use --push or "
        "--output type=oci,dest=DIR, which need no engine",
    )


def _tag_of(reference: str) -> str:
    """The tag of a reference (``latest`` when none), for an OCI layout's ref.name."""
    name = reference.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"


def _push(
    request: OciRequest,
    store: BlobStore,
    top: JSONBlob,
    images: list[Built],
    *,
    client_for: Callable[[str], Any],
    on_event: Event,
    tasks: TaskFactory = no_tasks,
) -> None:
    """Blobs first, then each platform's manifest by digest, then the tag (so no half image)."""
    from uvdock.oci.registry import parse_reference  # noqa: PLC0415

    host, repo, tag = parse_reference(request.tag)
    client = client_for(host)
    blobs: dict[str, tuple[int, str | None]] = {}  # digest -> (size, repository to mount from)
    for base, manifest, config, _, _ in images:
        local_base = base.reference.startswith(("oci:", "docker-daemon:"))
        base_host, base_repo, _ = ("", "", "") if local_base else parse_reference(base.reference)
        document = json.loads(manifest.data)
        for layer in [config.descriptor.to_json(), *document["layers"]]:
            mount = base_repo if base_host == host else None
            blobs.setdefault(layer["digest"], (int(layer["size"]), mount))

    def push_blob(digest: str, size: int, mount_from: str | None) -> None:
        with tasks(f"push {digest[7:19]}", size) as task:
            client.push_blob(
                repo,
                digest,
                size,
                counting_opener(functools.partial(store.open, digest), task),
                mount_from=mount_from,
            )

    # Several blobs at once, as Docker does (max-concurrent-uploads): a warm
    # rebuild's existence checks overlap, and so do a cold build's uploads.
    with concurrent.futures.ThreadPoolExecutor(max_workers=PUSH_CONCURRENCY) as pool:
        futures = [pool.submit(push_blob, d, size, mount) for d, (size, mount) in blobs.items()]
        try:
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    for base, manifest, _, _, _ in images:
        client.put_manifest(repo, manifest.descriptor.digest, manifest.data, OCI_MANIFEST)
        on_event(f"push  {base.platform} {manifest.descriptor.digest}")
    media = OCI_INDEX if top.descriptor.media_type == OCI_INDEX else OCI_MANIFEST
    client.put_manifest(repo, tag, top.data, media)
    on_event(f"push  {request.tag} -> {top.descriptor.digest}")
