"""OCI image layout directories: the format, and reading one (untrusted input).

The format is small (image-spec ``image-layout.md``): ``oci-layout``,
``index.json`` and ``blobs/sha256/<hex>``. ``read_layout`` opens a layout
(e.g. one ``skopeo copy`` wrote) to use as a base image; every JSON blob it
reads is checked against its digest, and the checks here (regular files only,
bounded reads, nesting depth, attestations) serve the writers too.

Writing a layout is ``uvdock.oci.layoutwrite``'s job; writing a
``docker load`` archive is ``uvdock.oci.dockerarchive``'s.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path
from typing import IO

from uvdock.oci.blobs import BlobStore
from uvdock.oci.model import (
    ANNOTATION_REF_NAME,
    BLOB_SOURCE_HINT,
    IMAGE_MANIFEST_MEDIA_TYPES,
    INDEX_MEDIA_TYPES,
    MAX_DOCUMENT_SIZE,
    BlobSizeError,
    Descriptor,
    DigestError,
    ImageError,
    JSONObject,
    Platform,
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
    "LAYOUT_VERSION",
    "MAX_LAYOUT_IMAGES",
    "LayoutDocumentError",
    "LayoutError",
    "LayoutImage",
    "OCILayout",
    "check_index_depth",
    "is_attestation",
    "load_layout_json",
    "open_regular_file",
    "read_layout",
]

LAYOUT_VERSION = "1.0.0"
_ATTESTATION = "vnd.docker.reference.type"


class LayoutError(ImageError):
    """An OCI layout or archive cannot be read or written."""


class LayoutDocumentError(LayoutError, DocumentError):
    """A document in a layout is too large, not JSON, or not of the image spec's shape."""


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
        version = load_layout_json(path / "oci-layout").get("imageLayoutVersion")
        if version != LAYOUT_VERSION:
            raise LayoutError(f"{path}: unsupported OCI layout version {version!r}"[:200])
        index_file = path / "index.json"
        index = check_index(
            load_layout_json(index_file), where=str(index_file), error=LayoutDocumentError
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
            check_index_depth(depth, where=f"{self.root}: index {descriptor.digest}")
            for child in self.document(descriptor, "index")["manifests"]:
                if not is_attestation(child):
                    found += self.images(Descriptor.from_json(child), depth=depth + 1)
                if len(found) > MAX_LAYOUT_IMAGES:
                    break  # read_layout says so
        elif descriptor.media_type in IMAGE_MANIFEST_MEDIA_TYPES:
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


def is_attestation(entry: JSONObject) -> bool:
    """Whether an index entry is an attestation (build provenance, SBOM), not an image."""
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


def load_layout_json(path: Path) -> JSONObject:
    """A layout's own JSON file (``oci-layout``, ``index.json``), read bounded, parsed."""
    data = _read_bounded(path, what=path.name, limit=MAX_DOCUMENT_SIZE)
    return parse_document(data, where=str(path), error=LayoutDocumentError)


def check_index_depth(depth: int, *, where: str) -> None:
    """Refuse an index nested ``MAX_INDEX_DEPTH`` deep: a hostile one could recurse forever."""
    if depth >= MAX_INDEX_DEPTH:
        raise LayoutDocumentError(
            f"{where}: indexes nest more than {MAX_INDEX_DEPTH} deep",
            hint="real images nest an index once at most; this one is broken or hostile",
        )
