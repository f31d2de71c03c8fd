"""The base image, per platform: from its registry, an OCI layout or the local Docker Engine.

Every blob ends up verified in the blob store; a warm rebuild asks no
registry anything (the tag's resolution is remembered for a while, manifests
and blobs are stored by digest).
"""

from __future__ import annotations

import dataclasses
import platform
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

from uvdock._proc import Runner, default_runner
from uvdock.errors import UvdockError
from uvdock.oci.blobs import BlobStore
from uvdock.oci.cache import Cache
from uvdock.oci.model import IMAGE_MANIFEST_MEDIA_TYPES, INDEX_MEDIA_TYPES, Descriptor, Platform
from uvdock.oci.ports import ClientFor, Event, Registry
from uvdock.oci.progress import CountingWriter, TaskFactory, no_tasks
from uvdock.oci.schema import check_config, check_index, check_manifest, parse_document

__all__ = ["BASE_TAG_TTL_SECONDS", "BaseImage", "host_platform", "resolve_base"]

# How long a base tag's resolution is reused without asking its registry
# (--pull asks now). Digest references never expire: they name content.
BASE_TAG_TTL_SECONDS = 600


@dataclasses.dataclass(frozen=True, kw_only=True)
class BaseImage:
    """One platform of the base: its manifest, config and layers (blobs in the store)."""

    reference: str
    platform: Platform
    manifest_digest: str
    config: dict[str, Any]
    layers: tuple[Descriptor, ...]


def host_platform() -> Platform:
    """This machine's platform (Platform normalises x86_64/aarch64 to amd64/arm64)."""
    return Platform(os="linux", architecture=platform.machine())


def resolve_base(
    reference: str,
    platforms: Sequence[Platform],
    store: BlobStore,
    *,
    client_for: ClientFor,
    on_event: Event,
    pull: bool = False,
    tasks: TaskFactory = no_tasks,
    runner: Runner = default_runner,
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

        name = reference.removeprefix("docker-daemon:")
        with saved_image(name, runner=runner) as (layout_dir, ref_name):
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
            if entry["mediaType"] not in IMAGE_MANIFEST_MEDIA_TYPES:
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
        client_for: ClientFor,
        tasks: TaskFactory = no_tasks,
    ) -> None:
        self.reference = reference
        self._tasks = tasks
        self.store = store
        self._cache = Cache(store)
        self._client_for = client_for
        self._where: tuple[Registry, str, str] | None = None

    def _client(self) -> tuple[Registry, str, str]:
        if self._where is None:
            from uvdock.oci.registry import parse_reference  # noqa: PLC0415 - HTTP when needed

            host, repo, ref = parse_reference(self.reference)
            self._where = (self._client_for(host), repo, ref)
        return self._where

    def top(self, *, pull: bool) -> tuple[bytes, str, str]:
        """``(body, media type, digest)`` of what the reference names now (or lately)."""
        pinned = "@sha256:" in self.reference
        max_age = None if pinned else BASE_TAG_TTL_SECONDS
        remembered = None if pull else self._cache.resolved_tag(self.reference, max_age=max_age)
        if remembered is not None:
            digest, media_type = remembered
            return self.store.read_bytes(digest), media_type, digest
        client, repo, ref = self._client()
        body, media_type, digest = client.get_manifest(repo, ref)
        self.store.put_bytes(body, expected_digest=digest)
        self._cache.remember_tag(self.reference, digest=digest, media_type=media_type)
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
                # CountingWriter passes every other file method through to ``download``.
                counting = cast("BinaryIO", CountingWriter(download, task))
                client.get_blob(repo, digest, counting, size=size)
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
