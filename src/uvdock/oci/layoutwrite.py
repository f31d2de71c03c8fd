"""Writing an image from the blob store into an OCI image layout directory.

Why hand-written: no well-kept Python library writes OCI layouts (pyoci's
writer mixes media types and keeps blobs in memory; the Go tools are not
importable). What uvdock adds:

- blobs come from the ``BlobStore`` and are hard-linked when the layout is on
  the same filesystem (copied otherwise), so writing a 1 GB image is instant;
- ``index.json`` is updated, not clobbered: writing ``ref_name`` replaces
  only the entry with that ``org.opencontainers.image.ref.name`` (as
  ``skopeo copy ... oci:DIR:TAG`` does), and is replaced atomically.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from uvdock.oci.blobs import BlobStore, CachedBlobMissingError
from uvdock.oci.layout import (
    LAYOUT_VERSION,
    LayoutDocumentError,
    check_index_depth,
    load_layout_json,
)
from uvdock.oci.model import (
    ANNOTATION_REF_NAME,
    IMAGE_MANIFEST_MEDIA_TYPES,
    INDEX_MEDIA_TYPES,
    MAX_DOCUMENT_SIZE,
    OCI_INDEX,
    Descriptor,
    JSONObject,
    canonical_json,
    digest_hex,
)
from uvdock.oci.schema import DocumentKind, check_document, check_index, parse_document

__all__ = ["require_blob", "store_document", "write_layout"]


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
            existing = load_layout_json(index_file)
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
        require_blob(store, descriptor.digest)
        seen[descriptor.digest] = None
        if descriptor.media_type in INDEX_MEDIA_TYPES:
            check_index_depth(depth, where=f"{store.root}: {root.digest}")
            index = store_document(store, descriptor, "index")
            for child in index["manifests"]:
                visit(Descriptor.from_json(child), depth + 1)
        elif descriptor.media_type in IMAGE_MANIFEST_MEDIA_TYPES:
            manifest = store_document(store, descriptor, "manifest")
            for child in [manifest["config"], *manifest["layers"]]:
                visit(Descriptor.from_json(child), depth + 1)

    visit(root, 0)
    return list(seen)


def require_blob(store: BlobStore, digest: str) -> None:
    """Refuse to write an image whose blob ``digest`` is not in ``store``."""
    if not store.has(digest):
        raise CachedBlobMissingError(
            f"blob {digest} is not in the cache at {store.root}",
            hint="fetch the base image's layers (or rebuild) before writing the image",
        )


def store_document(store: BlobStore, descriptor: Descriptor, kind: DocumentKind) -> JSONObject:
    """The ``kind`` document ``descriptor`` names in ``store``, its size and shape checked."""
    where = f"{store.root}: {descriptor.digest}"
    if descriptor.size > MAX_DOCUMENT_SIZE:
        raise LayoutDocumentError(f"{where}: a {kind} of {descriptor.size} bytes is over 4 MiB")
    data = store.read_bytes(descriptor.digest)
    value = parse_document(data, where=where, error=LayoutDocumentError)
    return check_document(value, kind, where=where, error=LayoutDocumentError)


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
