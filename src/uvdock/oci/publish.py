"""Where a daemonless build goes: one sink per output, behind one ``Publisher`` protocol.

A registry (push), an OCI layout directory, a ``docker load`` archive, or
the local Docker Engine (load). Every blob is in the blob store by now; a
sink only copies or sends them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

from uvdock._proc import Runner, default_runner
from uvdock.docker.cli import docker_binary
from uvdock.errors import UvdockError
from uvdock.oci.base import host_platform
from uvdock.oci.blobs import BlobStore
from uvdock.oci.image import BuiltImage
from uvdock.oci.model import OCI_INDEX, OCI_MANIFEST, JSONBlob, Platform
from uvdock.oci.ports import ClientFor, Event
from uvdock.oci.progress import TaskFactory, counting_opener, no_tasks

__all__ = ["Archive", "Layout", "Load", "Publisher", "Push", "publish", "publisher_for"]

Output = Literal["push", "oci", "docker", "load"]
PUSH_CONCURRENCY = 4


class Publisher(Protocol):
    def publish(self, top: JSONBlob, images: Sequence[BuiltImage]) -> None:
        """Send or write ``top`` (the index, or the one manifest) and what it names."""
        ...


def publisher_for(
    output: Output,
    *,
    store: BlobStore,
    tag: str,
    dest: Path | None,
    epoch: int,
    client_for: ClientFor,
    on_event: Event,
    tasks: TaskFactory = no_tasks,
    runner: Runner = default_runner,
) -> Publisher:
    """The sink for ``output`` (``dest``: the layout directory or the archive file)."""
    if output == "push":
        return Push(store=store, tag=tag, client_for=client_for, on_event=on_event, tasks=tasks)
    if output == "oci":
        return Layout(store=store, tag=tag, dest=dest or Path("oci-layout"), on_event=on_event)
    if output == "docker":
        archive = dest or Path("uvdock-image.tar")
        return Archive(store=store, tag=tag, dest=archive, epoch=epoch, on_event=on_event)
    return Load(store=store, tag=tag, epoch=epoch, on_event=on_event, runner=runner)


def publish(
    publisher: Publisher, top: JSONBlob, images: Sequence[BuiltImage], *, dest: Path | None
) -> None:
    """``publisher.publish``; an unwritable destination is one line."""
    try:
        publisher.publish(top, images)
    except OSError as err:
        where = err.filename or dest or "the output"
        raise UvdockError(
            f"cannot write {where} ({err.strerror or err})",
            hint="check that the destination's directory exists and is writable",
        ) from err


@dataclasses.dataclass(frozen=True, kw_only=True)
class Push:
    """Blobs first, then each platform's manifest by digest, then the tag (so no half image)."""

    store: BlobStore
    tag: str
    client_for: ClientFor
    on_event: Event
    tasks: TaskFactory = no_tasks

    def publish(self, top: JSONBlob, images: Sequence[BuiltImage]) -> None:
        from uvdock.oci.registry import parse_reference  # noqa: PLC0415 - HTTP when needed

        host, repo, tag = parse_reference(self.tag)
        client = self.client_for(host)
        blobs: dict[str, tuple[int, str | None]] = {}  # digest -> (size, repository to mount from)
        for image in images:
            base = image.base
            local = base.reference.startswith(("oci:", "docker-daemon:"))
            base_host, base_repo, _ = ("", "", "") if local else parse_reference(base.reference)
            document = json.loads(image.manifest.data)
            for layer in [image.config.descriptor.to_json(), *document["layers"]]:
                mount = base_repo if base_host == host else None
                blobs.setdefault(layer["digest"], (int(layer["size"]), mount))

        def push_blob(digest: str, size: int, mount_from: str | None) -> None:
            with self.tasks(f"push {digest[7:19]}", size) as task:
                opener = counting_opener(functools.partial(self.store.open, digest), task)
                client.push_blob(repo, digest, size, opener, mount_from=mount_from)

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
        for image in images:
            digest = image.manifest.descriptor.digest
            client.put_manifest(repo, digest, image.manifest.data, OCI_MANIFEST)
            self.on_event(f"push  {image.base.platform} {digest}")
        media = OCI_INDEX if top.descriptor.media_type == OCI_INDEX else OCI_MANIFEST
        client.put_manifest(repo, tag, top.data, media)
        self.on_event(f"push  {self.tag} -> {top.descriptor.digest}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Layout:
    """An OCI image layout directory, the image under the tag's name (``ref.name``)."""

    store: BlobStore
    tag: str
    dest: Path
    on_event: Event

    def publish(self, top: JSONBlob, images: Sequence[BuiltImage]) -> None:
        from uvdock.oci.layoutwrite import write_layout  # noqa: PLC0415

        del images  # all in the store, named by top
        write_layout(self.dest, store=self.store, image=top.descriptor, ref_name=_tag_of(self.tag))
        self.on_event(f"wrote OCI layout {self.dest} ({_tag_of(self.tag)})")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Archive:
    """A ``docker load`` archive of one platform (this machine's, when built)."""

    store: BlobStore
    tag: str
    dest: Path
    epoch: int
    on_event: Event

    def publish(self, top: JSONBlob, images: Sequence[BuiltImage]) -> None:
        from uvdock.oci.dockerarchive import write_docker_archive  # noqa: PLC0415

        chosen = _one_platform(images, load=False).base.platform
        write_docker_archive(
            self.dest, store=self.store, image=top.descriptor, tags=[self.tag],
            platform=chosen, epoch=self.epoch,
        )  # fmt: skip
        self.on_event(f"wrote docker archive {self.dest} ({chosen})")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Load:
    """``docker load`` into the local engine, sending only the layers the engine lacks.

    The layers of the image the tag names now (usually the last build) that
    are the same bottom layers as the new image's are left out of the
    archive; if the engine refuses that archive (it pruned them), the whole
    image is loaded.
    """

    store: BlobStore
    tag: str
    epoch: int
    on_event: Event
    runner: Runner = default_runner

    def publish(self, top: JSONBlob, images: Sequence[BuiltImage]) -> None:
        from uvdock.oci.dockerarchive import write_docker_archive  # noqa: PLC0415

        image = _one_platform(images, load=True)
        chosen = image.base.platform
        config = json.loads(image.config.data)
        ours: list[str] = list(config.get("rootfs", {}).get("diff_ids", []))
        docker = docker_binary()  # the engine that base images came from, too
        argv = [docker, "image", "inspect", "-f", "{{json .RootFS.Layers}}", self.tag]
        inspect = self.runner(argv)
        have: list[str] = []
        if inspect.returncode == 0:
            with contextlib.suppress(ValueError):
                have = list(json.loads(inspect.stdout) or [])
        shared = 0
        while shared < min(len(have), len(ours)) and have[shared] == ours[shared]:
            shared += 1
        if image.base.reference.startswith("docker-daemon:"):
            shared = max(shared, len(image.base.layers))  # the engine just gave us these
        failure = ""
        with tempfile.TemporaryDirectory(prefix="uvdock-load-") as tmp:
            for omit in dict.fromkeys((shared, 0)):
                archive = Path(tmp) / f"image-{omit}.tar"
                write_docker_archive(
                    archive, store=self.store, image=top.descriptor, tags=[self.tag],
                    platform=chosen, epoch=self.epoch, omit_layers=omit,
                )  # fmt: skip
                done = self.runner([docker, "load", "-i", str(archive)])
                if done.returncode == 0:
                    sent = f"{len(ours) - omit} of {len(ours)} layers sent"
                    self.on_event(f"loaded {self.tag} ({chosen}) into the local engine ({sent})")
                    return
                failure = done.stderr.strip()
        raise UvdockError(
            f"docker load failed: {failure}",
            hint="is the Docker Engine running? (uvdock doctor); or use --push or "
            "--output type=oci,dest=DIR, which need no engine",
        )


def _one_platform(images: Sequence[BuiltImage], *, load: bool) -> BuiltImage:
    """The image of this machine's platform; the only one, for an archive of one platform."""
    host: Platform = host_platform()
    chosen = next((image for image in images if image.base.platform == host), None)
    if chosen is None:
        if load or len(images) > 1:
            raise UvdockError(
                f"a docker archive or --load holds one platform, and {host} was not built",
                hint=f"add --platform {host}, or push the index instead (--push)",
            )
        chosen = images[0]
    return chosen


def _tag_of(reference: str) -> str:
    """The tag of a reference (``latest`` when none), for an OCI layout's ref.name."""
    name = reference.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"
