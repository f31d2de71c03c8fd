"""OCI image layout directories and ``docker load`` archives: writing and reading.

Why hand-written: no well-kept Python library writes OCI layouts (pyoci's
writer mixes media types and keeps blobs in memory; the Go tools are not
importable), and the format is small (image-spec ``image-layout.md``):
``oci-layout``, ``index.json`` and ``blobs/sha256/<hex>``. What uvdock adds:

- blobs come from the ``BlobStore`` and are hard-linked when the layout is on
  the same filesystem (copied otherwise), so writing a 1 GB image is instant;
- ``index.json`` is updated, not clobbered: writing ``ref_name`` replaces
  only the entry with that ``org.opencontainers.image.ref.name`` (as
  ``skopeo copy ... oci:DIR:TAG`` does), and is replaced atomically;
- the ``docker load`` archive is the hybrid Docker 25+ ``docker save``
  writes: an OCI layout plus Docker's ``manifest.json`` whose ``Config`` and
  ``Layers`` point into ``blobs/sha256/``, so old and new engines, podman and
  containerd all load it. It holds one platform (the classic image store
  keeps one per tag). The outer tar is deterministic: sorted names, one
  mtime, uid/gid 0, fixed modes (``docker save`` is not, moby#42766).

``read_layout`` opens a layout (e.g. one ``skopeo copy`` wrote) to use as a
base image; every JSON blob it reads is checked against its digest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from uvdock.oci.blobs import BlobNotFoundError, BlobStore
from uvdock.oci.model import (
    ANNOTATION_REF_NAME,
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    OCI_INDEX,
    Descriptor,
    DigestError,
    ImageError,
    JSONObject,
    Platform,
    canonical_json,
    digest_hex,
    sha256_digest,
)

__all__ = [
    "ANNOTATION_CONTAINERD_NAME",
    "LAYOUT_VERSION",
    "LayoutError",
    "LayoutImage",
    "OCILayout",
    "read_layout",
    "write_docker_archive",
    "write_layout",
]

LAYOUT_VERSION = "1.0.0"
#: The full image name containerd (and Docker's containerd store) reads from ``index.json``.
ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name"
_ATTESTATION = "vnd.docker.reference.type"


class LayoutError(ImageError):
    """An OCI layout or archive cannot be read or written."""


# --- writing a layout directory -------------------------------------------------


def write_layout(
    dest: Path,
    *,
    store: BlobStore,
    image: Descriptor,
    ref_name: str | None = None,
    link: bool = True,
) -> Descriptor:
    """Write ``image`` (a manifest or index in ``store``) into the OCI layout at ``dest``.

    Every blob it references must be in ``store`` (checked before anything
    is written). ``dest`` is created, or updated when it is already a
    layout: an existing entry with the same ``ref_name`` is replaced, other
    entries are kept. With ``link``, blobs are hard-linked from the store
    where possible. Returns the descriptor written to ``index.json``.
    """
    blobs = _closure(store, image)
    blob_dir = dest / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    layout_file = dest / "oci-layout"
    if not layout_file.exists():
        _atomic_write(layout_file, canonical_json({"imageLayoutVersion": LAYOUT_VERSION}))
    for digest in blobs:
        _place_blob(store.path(digest), blob_dir / digest_hex(digest), link=link)

    annotations = dict(image.annotations)
    if ref_name is not None:
        annotations[ANNOTATION_REF_NAME] = ref_name
    entry = image.replace(annotations=annotations)
    index_file = dest / "index.json"
    with _locked(dest):  # two builds tagging into one layout must not lose an entry
        kept: list[JSONObject] = []
        if index_file.exists():
            for old in _load_json(index_file).get("manifests") or []:
                old_ref = (old.get("annotations") or {}).get(ANNOTATION_REF_NAME)
                same_ref = ref_name is not None and old_ref == ref_name
                untagged = ref_name is None and old_ref is None and old["digest"] == image.digest
                if not (same_ref or untagged):
                    kept.append(old)
        manifests = [*kept, entry.to_json()]
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        _atomic_write(index_file, canonical_json(index))
    return entry


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``directory`` itself (no lock file left in the layout)."""
    try:
        import fcntl  # noqa: PLC0415 - POSIX only; elsewhere the update is unlocked
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _closure(store: BlobStore, root: Descriptor) -> list[str]:
    """Every digest ``root`` needs (itself first), all present in ``store``, in a stable order."""
    seen: dict[str, None] = {}

    def visit(descriptor: Descriptor) -> None:
        if descriptor.digest in seen:
            return
        _require(store, descriptor.digest)
        seen[descriptor.digest] = None
        if descriptor.media_type in INDEX_MEDIA_TYPES:
            index = _store_json(store, descriptor)
            for child in index.get("manifests") or []:
                visit(Descriptor.from_json(child))
        elif descriptor.media_type in MANIFEST_MEDIA_TYPES:
            manifest = _store_json(store, descriptor)
            for child in [manifest["config"], *(manifest.get("layers") or [])]:
                visit(Descriptor.from_json(child))

    visit(root)
    return list(seen)


def _require(store: BlobStore, digest: str) -> None:
    if not store.has(digest):
        raise BlobNotFoundError(
            f"blob {digest} is not in the cache at {store.root}",
            hint="fetch the base image's layers (or rebuild) before writing the image",
        )


def _store_json(store: BlobStore, descriptor: Descriptor) -> JSONObject:
    data = store.read_bytes(descriptor.digest)
    value = json.loads(data)
    if not isinstance(value, dict):
        raise LayoutError(f"{descriptor.digest} is not a JSON object")
    return value


def _place_blob(source: Path, target: Path, *, link: bool) -> None:
    if target.exists():
        if target.stat().st_size == source.stat().st_size:
            return  # named by its content: the same bytes are already there
        target.unlink()  # a truncated copy from an interrupted writer
    if link:
        # Fails on another filesystem, where links are not allowed, or when a
        # concurrent writer got there first; the first two copy instead.
        with contextlib.suppress(OSError):
            target.hardlink_to(source)
        if target.exists():
            return
    handle, name = tempfile.mkstemp(prefix=".blob-", dir=target.parent)
    temp = Path(name)
    try:
        with os.fdopen(handle, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        temp.chmod(0o644)
        temp.replace(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _atomic_write(path: Path, data: bytes) -> None:
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        temp.chmod(0o644)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


# --- writing a docker load archive ----------------------------------------------


def write_docker_archive(
    dest: Path,
    *,
    store: BlobStore,
    image: Descriptor,
    tags: Sequence[str],
    platform: Platform | None = None,
    epoch: int = 0,
    omit_layers: int = 0,
) -> Descriptor:
    """Write a ``docker load``-able tar of one platform of ``image`` to ``dest``.

    ``image`` is a manifest, or an index from which ``platform`` picks one
    manifest (it may be omitted when the index has a single image). ``tags``
    are full names (``registry/name:tag``; ``:latest`` is added when there
    is no tag). The tar is written beside ``dest`` and renamed into place.
    ``omit_layers`` leaves out that many bottom layers' blobs: an engine that
    has them already loads the rest (both of Docker's image stores skip a
    layer they hold without reading it). Returns the manifest's descriptor.
    """
    manifest_desc = _select_manifest(store, image, platform)
    manifest = _store_json(store, manifest_desc)
    config = Descriptor.from_json(manifest["config"])
    layers = [Descriptor.from_json(layer) for layer in manifest.get("layers") or []]
    for descriptor in (manifest_desc, config, *layers):
        _require(store, descriptor.digest)
    repo_tags = [_with_tag(tag) for tag in tags]

    # One index.json entry per tag, as ``docker save`` writes them; an untagged one without.
    index_entries = [
        manifest_desc.replace(
            annotations={
                ANNOTATION_CONTAINERD_NAME: _containerd_name(tag),
                ANNOTATION_REF_NAME: tag.rpartition(":")[2],
            }
        )
        for tag in repo_tags
    ] or [manifest_desc.replace(annotations={})]
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [entry.to_json() for entry in index_entries],
    }
    docker_manifest = [
        {
            "Config": _blob_name(config.digest),
            "RepoTags": repo_tags,
            "Layers": [_blob_name(layer.digest) for layer in layers],
        }
    ]
    files: dict[str, Path | bytes] = {
        "oci-layout": canonical_json({"imageLayoutVersion": LAYOUT_VERSION}),
        "index.json": canonical_json(index),
        "manifest.json": canonical_json(docker_manifest),
    }
    for descriptor in (manifest_desc, config, *layers[omit_layers:]):
        files[_blob_name(descriptor.digest)] = store.path(descriptor.digest)
    _write_tar(dest, files, epoch=epoch)
    return manifest_desc


def _blob_name(digest: str) -> str:
    return f"blobs/sha256/{digest_hex(digest)}"


def _select_manifest(store: BlobStore, image: Descriptor, platform: Platform | None) -> Descriptor:
    if image.media_type in MANIFEST_MEDIA_TYPES:
        return image
    if image.media_type not in INDEX_MEDIA_TYPES:
        raise LayoutError(f"{image.digest} is a {image.media_type}, not an image")
    _require(store, image.digest)
    candidates = [
        Descriptor.from_json(child)
        for child in _store_json(store, image).get("manifests") or []
        if not _is_attestation(child)
    ]
    if platform is not None:
        candidates = [c for c in candidates if c.platform == platform]
    if len(candidates) == 1:
        return _select_manifest(store, candidates[0], platform)
    available = ", ".join(str(c.platform) for c in candidates) or "none"
    if platform is None:
        raise LayoutError(
            f"the image has several platforms ({available})",
            hint="a docker archive holds one platform: pass the one to write",
        )
    raise LayoutError(f"the image has no single {platform} manifest (it has: {available})")


def _with_tag(name: str) -> str:
    if "@" in name:
        raise LayoutError(f"{name!r}: a docker archive is tagged by name:tag, not by digest")
    last = name.rpartition("/")[2]
    return name if ":" in last else f"{name}:latest"


def _containerd_name(tag: str) -> str:
    """``python:3`` -> ``docker.io/library/python:3``, as Docker's reference parser does."""
    first, sep, rest = tag.partition("/")
    if not sep:
        return f"docker.io/library/{tag}"
    if "." in first or ":" in first or first == "localhost":
        return tag
    return f"docker.io/{first}/{rest}"


def _write_tar(dest: Path, files: dict[str, Path | bytes], *, epoch: int) -> None:
    """A deterministic tar: sorted names, parents first, one mtime, root-owned, 0644/0755."""
    names = set(files)
    for name in files:
        parts = name.split("/")
        names.update("/".join(parts[:depth]) + "/" for depth in range(1, len(parts)))
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    temp = Path(temp_name)
    try:
        with (
            os.fdopen(handle, "wb") as out,
            tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for name in sorted(names, key=lambda n: n.rstrip("/").split("/")):
                info = tarfile.TarInfo(name.rstrip("/"))
                info.mtime = int(epoch)
                info.uname = info.gname = ""
                if name.endswith("/"):
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
                    continue
                info.mode = 0o644
                source = files[name]
                if isinstance(source, bytes):
                    info.size = len(source)
                    tar.addfile(info, io.BytesIO(source))
                else:
                    with source.open("rb") as stream:
                        info.size = os.fstat(stream.fileno()).st_size
                        tar.addfile(info, stream)
        temp.chmod(0o644)
        temp.replace(dest)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


# --- reading a layout -----------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class LayoutImage:
    """One platform's image in a layout: its manifest and config, read and verified.

    ``descriptor`` is the manifest's, with ``platform`` from the index entry
    (or, when the entry has none, from the config). ``ref_name`` is the
    ``index.json`` entry's ``org.opencontainers.image.ref.name``.
    """

    ref_name: str | None
    descriptor: Descriptor
    manifest: JSONObject
    config: JSONObject

    @property
    def layers(self) -> list[Descriptor]:
        return [Descriptor.from_json(layer) for layer in self.manifest.get("layers") or []]

    @property
    def config_descriptor(self) -> Descriptor:
        return Descriptor.from_json(self.manifest["config"])


@dataclasses.dataclass(frozen=True, kw_only=True)
class OCILayout:
    """An OCI layout directory: its ``index.json`` and every image it holds."""

    path: Path
    index: JSONObject
    images: tuple[LayoutImage, ...]

    def blob_path(self, digest: str) -> Path:
        return self.path / "blobs" / "sha256" / digest_hex(digest)

    def image(
        self, *, ref_name: str | None = None, platform: Platform | None = None
    ) -> LayoutImage:
        """The one image with ``ref_name`` (when given) for ``platform`` (when given)."""
        found = [
            image
            for image in self.images
            if (ref_name is None or image.ref_name == ref_name)
            and (platform is None or image.descriptor.platform == platform)
        ]
        if len(found) == 1:
            return found[0]
        held = ", ".join(
            f"{i.ref_name or '(untagged)'} {i.descriptor.platform}" for i in self.images
        )
        wanted = " ".join(str(x) for x in (ref_name, platform) if x is not None) or "an image"
        what = "no" if not found else "more than one"
        raise LayoutError(
            f"{self.path}: {what} image matches {wanted} (the layout holds: {held or 'nothing'})",
            hint="name the tag (DIR:TAG) and the platform",
        )

    def import_into(self, store: BlobStore, image: LayoutImage) -> None:
        """Copy ``image``'s manifest, config and layers into ``store``, verifying each digest."""
        for descriptor in (image.descriptor, image.config_descriptor, *image.layers):
            if store.has(descriptor.digest):
                continue
            try:
                with self.blob_path(descriptor.digest).open("rb") as stream:
                    store.put_file(stream, expected_digest=descriptor.digest)
            except FileNotFoundError:
                raise LayoutError(
                    f"{self.path}: blob {descriptor.digest} is missing (a shallow layout?)",
                    hint="copy the image with all its layers, e.g. skopeo copy ... oci:DIR:TAG",
                ) from None


def read_layout(path: Path) -> OCILayout:
    """Open the OCI layout at ``path``; nested indexes are flattened into ``images``.

    Entries marked as attestations (``unknown/unknown`` platform or
    ``vnd.docker.reference.type``) and non-image artifacts are skipped.
    """
    try:
        version = _load_json(path / "oci-layout").get("imageLayoutVersion")
        index = _load_json(path / "index.json")
    except FileNotFoundError as err:
        raise LayoutError(
            f"{path} is not an OCI image layout: {Path(err.filename).name} is missing"
        ) from None
    if version != LAYOUT_VERSION:
        raise LayoutError(f"{path}: unsupported OCI layout version {version!r}")
    images: list[LayoutImage] = []
    for entry in index.get("manifests") or []:
        ref_name = (entry.get("annotations") or {}).get(ANNOTATION_REF_NAME)
        images.extend(_read_images(path, Descriptor.from_json(entry), ref_name=ref_name))
    return OCILayout(path=path, index=index, images=tuple(images))


def _read_images(
    root: Path, descriptor: Descriptor, *, ref_name: str | None
) -> Iterator[LayoutImage]:
    if descriptor.media_type in INDEX_MEDIA_TYPES:
        for child in _layout_json(root, descriptor).get("manifests") or []:
            if not _is_attestation(child):
                yield from _read_images(root, Descriptor.from_json(child), ref_name=ref_name)
    elif descriptor.media_type in MANIFEST_MEDIA_TYPES:
        manifest = _layout_json(root, descriptor)
        config = _layout_json(root, Descriptor.from_json(manifest["config"]))
        platform = descriptor.platform or Platform.from_json(config)
        yield LayoutImage(
            ref_name=ref_name,
            descriptor=descriptor.replace(platform=platform),
            manifest=manifest,
            config=config,
        )


def _is_attestation(entry: JSONObject) -> bool:
    platform = entry.get("platform") or {}
    return _ATTESTATION in (entry.get("annotations") or {}) or (
        platform.get("os") == "unknown" and platform.get("architecture") == "unknown"
    )


def _layout_json(root: Path, descriptor: Descriptor) -> JSONObject:
    blob = root / "blobs" / "sha256" / digest_hex(descriptor.digest)
    try:
        data = blob.read_bytes()
    except FileNotFoundError:
        raise LayoutError(f"{root}: blob {descriptor.digest} is missing") from None
    if sha256_digest(data) != descriptor.digest:
        raise DigestError(f"{blob}: content does not match its digest {descriptor.digest}")
    return _parse_object(data, where=str(blob))


def _load_json(path: Path) -> JSONObject:
    return _parse_object(path.read_bytes(), where=str(path))


def _parse_object(data: bytes, *, where: str) -> JSONObject:
    try:
        value: Any = json.loads(data)
    except ValueError as err:
        raise LayoutError(f"{where}: invalid JSON: {err}") from err
    if not isinstance(value, dict):
        raise LayoutError(f"{where}: expected a JSON object")
    return value
