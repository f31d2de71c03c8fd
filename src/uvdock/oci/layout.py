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
import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from uvdock.oci.blobs import BlobNotFoundError, BlobStore
from uvdock.oci.model import (
    ANNOTATION_REF_NAME,
    BLOB_SOURCE_HINT,
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    MAX_DOCUMENT_SIZE,
    OCI_INDEX,
    BlobSizeError,
    Descriptor,
    DigestError,
    ImageError,
    JSONObject,
    Platform,
    canonical_json,
    digest_hex,
    sha256_digest,
)
from uvdock.oci.schema import (
    MAX_INDEX_DEPTH,
    DocumentError,
    DocumentKind,
    check_document,
    check_index,
    parse_document,
)

__all__ = [
    "ANNOTATION_CONTAINERD_NAME",
    "LAYOUT_VERSION",
    "LayoutDocumentError",
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


class LayoutDocumentError(LayoutError, DocumentError):
    """A document in a layout is too large, not JSON, or not of the image spec's shape."""


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
            existing = _load_json(index_file)
            for old in check_index(existing, where=str(index_file), error=LayoutDocumentError)[
                "manifests"
            ]:
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

    def visit(descriptor: Descriptor, depth: int) -> None:
        if descriptor.digest in seen:
            return
        _require(store, descriptor.digest)
        seen[descriptor.digest] = None
        if descriptor.media_type in INDEX_MEDIA_TYPES:
            _check_depth(depth, where=f"{store.root}: {root.digest}")
            index = _store_json(store, descriptor, "index")
            for child in index["manifests"]:
                visit(Descriptor.from_json(child), depth + 1)
        elif descriptor.media_type in MANIFEST_MEDIA_TYPES:
            manifest = _store_json(store, descriptor, "manifest")
            for child in [manifest["config"], *manifest["layers"]]:
                visit(Descriptor.from_json(child), depth + 1)

    visit(root, 0)
    return list(seen)


def _require(store: BlobStore, digest: str) -> None:
    if not store.has(digest):
        raise BlobNotFoundError(
            f"blob {digest} is not in the cache at {store.root}",
            hint="fetch the base image's layers (or rebuild) before writing the image",
        )


def _store_json(store: BlobStore, descriptor: Descriptor, kind: DocumentKind) -> JSONObject:
    where = f"{store.root}: {descriptor.digest}"
    if descriptor.size > MAX_DOCUMENT_SIZE:
        raise LayoutDocumentError(f"{where}: a {kind} of {descriptor.size} bytes is over 4 MiB")
    data = store.read_bytes(descriptor.digest)
    value = parse_document(data, where=where, error=LayoutDocumentError)
    return check_document(value, kind, where=where, error=LayoutDocumentError)


def _check_depth(depth: int, *, where: str) -> None:
    if depth >= MAX_INDEX_DEPTH:
        raise LayoutDocumentError(
            f"{where}: indexes nest more than {MAX_INDEX_DEPTH} deep",
            hint="real images nest an index once at most; this one is broken or hostile",
        )


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
    manifest = _store_json(store, manifest_desc, "manifest")
    config = Descriptor.from_json(manifest["config"])
    layers = [Descriptor.from_json(layer) for layer in manifest["layers"]]
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


def _select_manifest(
    store: BlobStore, image: Descriptor, platform: Platform | None, *, depth: int = 0
) -> Descriptor:
    if image.media_type in MANIFEST_MEDIA_TYPES:
        return image
    if image.media_type not in INDEX_MEDIA_TYPES:
        raise LayoutError(f"{image.digest} is a {image.media_type}, not an image")
    _check_depth(depth, where=f"{store.root}: {image.digest}")
    _require(store, image.digest)
    candidates = [
        Descriptor.from_json(child)
        for child in _store_json(store, image, "index")["manifests"]
        if not _is_attestation(child)
    ]
    if platform is not None:
        candidates = [c for c in candidates if c.platform == platform]
    if len(candidates) == 1:
        return _select_manifest(store, candidates[0], platform, depth=depth + 1)
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
        """Copy ``image``'s manifest, config and layers into ``store``, verifying each digest.

        Only regular files are read, and each at most its descriptor's size
        plus one byte: a blob that is larger (or a link to ``/dev/zero``) is
        refused before it can fill the cache's disk.
        """
        for descriptor in (image.descriptor, image.config_descriptor, *image.layers):
            if store.has(descriptor.digest):
                continue
            blob = self.blob_path(descriptor.digest)
            try:
                with open_regular_file(blob, what=f"blob {descriptor.digest}") as stream:
                    size = os.fstat(stream.fileno()).st_size
                    if size != descriptor.size:  # the cheap check first: a 5 GB file is not 5 bytes
                        raise BlobSizeError(
                            descriptor.digest, declared=descriptor.size, read=size, where=str(blob)
                        )
                    # ...and the bounded read, for a file that grows while it is read.
                    store.put_file(
                        stream,
                        expected_digest=descriptor.digest,
                        expected_size=descriptor.size,
                        source=str(blob),
                    )
            except FileNotFoundError:
                raise LayoutError(
                    f"{self.path}: blob {descriptor.digest} is missing (a shallow layout?)",
                    hint="copy the image with all its layers, e.g. skopeo copy ... oci:DIR:TAG",
                ) from None


MAX_LAYOUT_IMAGES = 10_000
"""How many images (manifests, counting each tag) ``read_layout`` lists; real layouts hold a few.

Every document is read once, but an index can name one nested index
thousands of times: without a cap the list of images grows as the product.
"""


def read_layout(path: Path) -> OCILayout:
    """Open the OCI layout at ``path``; nested indexes are flattened into ``images``.

    Entries marked as attestations (``unknown/unknown`` platform or
    ``vnd.docker.reference.type``) and non-image artifacts are skipped. The
    layout is untrusted input: only regular files are read (a FIFO would
    block, a device never end), each at most its descriptor's size (and 4 MiB
    for a document), every document is checked against the image spec's
    types (``uvdock.oci.schema``), and indexes nest at most 8 deep.
    """
    try:
        version = _load_json(path / "oci-layout").get("imageLayoutVersion")
        if version != LAYOUT_VERSION:
            raise LayoutError(f"{path}: unsupported OCI layout version {version!r}"[:200])
        index_file = path / "index.json"
        index = check_index(
            _load_json(index_file), where=str(index_file), error=LayoutDocumentError
        )
    except FileNotFoundError as err:
        raise LayoutError(
            f"{path} is not an OCI image layout: {Path(err.filename).name} is missing"
        ) from None
    reader = _LayoutReader(path)
    images: list[LayoutImage] = []
    for entry in index["manifests"]:
        ref_name = (entry.get("annotations") or {}).get(ANNOTATION_REF_NAME)
        for found in reader.images(Descriptor.from_json(entry), depth=0):
            images.append(dataclasses.replace(found, ref_name=ref_name))
            if len(images) > MAX_LAYOUT_IMAGES:
                raise LayoutDocumentError(
                    f"{path}: the layout names more than {MAX_LAYOUT_IMAGES} images",
                    hint="a layout of a base image holds a few; this one is broken or hostile",
                )
    return OCILayout(path=path, index=index, images=tuple(images))


class _LayoutReader:
    """Reads a layout's documents, each once (a repeated digest is the same bytes)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._documents: dict[str, JSONObject] = {}
        self._images: dict[str, list[LayoutImage]] = {}

    def images(self, descriptor: Descriptor, *, depth: int) -> list[LayoutImage]:
        """The images below ``descriptor`` (untagged; ``read_layout`` adds the tag)."""
        known = self._images.get(descriptor.digest)
        if known is not None:
            return known
        found: list[LayoutImage] = []
        if descriptor.media_type in INDEX_MEDIA_TYPES:
            _check_depth(depth, where=f"{self.root}: index {descriptor.digest}")
            for child in self.document(descriptor, "index")["manifests"]:
                if not _is_attestation(child):
                    found += self.images(Descriptor.from_json(child), depth=depth + 1)
                if len(found) > MAX_LAYOUT_IMAGES:
                    break  # read_layout says so
        elif descriptor.media_type in MANIFEST_MEDIA_TYPES:
            manifest = self.document(descriptor, "manifest")
            config = self.document(Descriptor.from_json(manifest["config"]), "config")
            platform = descriptor.platform or Platform.from_json(config)
            found.append(
                LayoutImage(
                    ref_name=None,
                    descriptor=descriptor.replace(platform=platform),
                    manifest=manifest,
                    config=config,
                )
            )
        self._images[descriptor.digest] = found
        return found

    def document(self, descriptor: Descriptor, kind: DocumentKind) -> JSONObject:
        """The blob ``descriptor`` names as a checked ``kind`` document (its digest verified)."""
        known = self._documents.get(descriptor.digest)
        if known is None:
            known = _layout_json(self.root, descriptor)
            self._documents[descriptor.digest] = known
        return check_document(
            known, kind, where=f"{self.root}: {descriptor.digest}", error=LayoutDocumentError
        )


def _is_attestation(entry: JSONObject) -> bool:
    platform = entry.get("platform") or {}
    return _ATTESTATION in (entry.get("annotations") or {}) or (
        platform.get("os") == "unknown" and platform.get("architecture") == "unknown"
    )


def open_regular_file(path: Path, *, what: str) -> IO[bytes]:
    """``path`` opened for reading, if it is a regular file (a symlink's target must be one).

    A layout is untrusted input: a FIFO would block the build forever and a
    device such as ``/dev/zero`` never ends. ``O_NONBLOCK`` lets opening a
    FIFO return at once rather than wait for a writer; it changes nothing
    for a regular file. ``FileNotFoundError`` passes through for the caller.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as err:
        raise LayoutError(f"{path}: cannot read {what}: {err.strerror}") from err
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode):
        return os.fdopen(fd, "rb")
    os.close(fd)
    kinds = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a FIFO", stat.S_ISCHR: "a device",
             stat.S_ISBLK: "a device", stat.S_ISSOCK: "a socket"}  # fmt: skip
    kind = next((name for test, name in kinds.items() if test(mode)), "not a file")
    raise LayoutError(
        f"{path}: {what} is {kind}, not a regular file (or a link to one)", hint=BLOB_SOURCE_HINT
    )


def _read_bounded(path: Path, *, what: str, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file ``path``: the caller checks the length."""
    with open_regular_file(path, what=what) as stream:
        return stream.read(limit + 1)


def _layout_json(root: Path, descriptor: Descriptor) -> JSONObject:
    blob = root / "blobs" / "sha256" / digest_hex(descriptor.digest)
    if descriptor.size > MAX_DOCUMENT_SIZE:
        raise LayoutDocumentError(
            f"{root}: the document {descriptor.digest} declares {descriptor.size} bytes, over "
            f"the {MAX_DOCUMENT_SIZE // (1024 * 1024)} MiB an image document may be",
            hint=BLOB_SOURCE_HINT,
        )
    try:
        data = _read_bounded(blob, what=f"blob {descriptor.digest}", limit=descriptor.size)
    except FileNotFoundError:
        raise LayoutError(f"{root}: blob {descriptor.digest} is missing") from None
    if len(data) != descriptor.size:
        raise BlobSizeError(
            descriptor.digest, declared=descriptor.size, read=len(data), where=str(root)
        )
    if sha256_digest(data) != descriptor.digest:
        raise DigestError(f"{blob}: content does not match its digest {descriptor.digest}")
    return parse_document(data, where=str(blob), error=LayoutDocumentError)


def _load_json(path: Path) -> JSONObject:
    data = _read_bounded(path, what=path.name, limit=MAX_DOCUMENT_SIZE)
    return parse_document(data, where=str(path), error=LayoutDocumentError)
