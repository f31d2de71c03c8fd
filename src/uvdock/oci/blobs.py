"""The local content-addressed blob cache, and the layer selectors that skip rebuilds.

Layout under the root (default ``$XDG_CACHE_HOME/uvdock/oci``)::

    blobs/sha256/<hex>          a blob whose bytes hash to <hex> (read-only, 0444)
    selectors/<hex>.json        sha256(layer inputs) -> {diff_id, digest, size, media_type}
    tmp/                        blobs being written

Why hand-written: it is a few dozen lines over ``os`` and ``hashlib``, and
the properties that matter are ours to guarantee (ko's ``KOCACHE`` and Jib's
cache v2 are the models; no Python library offers this):

- a blob appears under its name complete or not at all: it is written to
  ``tmp/``, hashed while written, fsynced, then ``os.replace``d into place;
- a blob that does not hash to the digest the caller expected is refused and
  nothing is left behind;
- two builds sharing the cache need no locks: a blob's name is its content,
  so two writers of the same name write the same bytes and the last rename
  wins harmlessly; a selector is a small file replaced the same way, and a
  selector whose blob is gone reads as a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from uvdock.cache_dir import cache_root
from uvdock.errors import UvdockError
from uvdock.oci.model import (
    OCI_LAYER_GZIP,
    BlobSizeError,
    DigestError,
    LayerInfo,
    canonical_json,
    digest_hex,
)

__all__ = ["BlobStore", "BlobWriter", "CachedBlobMissingError", "default_root", "selector_key"]

_CHUNK = 1 << 20


class CachedBlobMissingError(UvdockError):
    """A digest the caller needs is not in the local blob store (the cache).

    Not ``uvdock.oci.registry.BlobNotFoundError``, which is a registry answering 404.
    """


def default_root(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/uvdock/oci``, or ``~/.cache/uvdock/oci``."""
    return cache_root(env) / "oci"


def selector_key(inputs: Any) -> str:
    """The selector for a layer: sha256 of its inputs as canonical JSON (hex).

    ``inputs`` is any JSON value that names everything the layer's bytes
    depend on (package names/versions/hashes, platform, python, options,
    layer-format version); equal inputs must mean equal layers.
    """
    return hashlib.sha256(canonical_json(inputs)).hexdigest()


class BlobWriter:
    """A blob being written: hashes what is written, lands it on ``commit``.

    Use as a context manager from ``BlobStore.writer()``: a clean exit
    commits, an exception discards. After the commit, ``digest`` and
    ``size`` describe the blob.
    """

    def __init__(self, store: BlobStore, *, expected_digest: str | None = None) -> None:
        if expected_digest is not None:
            digest_hex(expected_digest)
        self._store = store
        self._expected = expected_digest
        self._hash = hashlib.sha256()
        self.size = 0
        self.digest = ""
        store.tmp_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="blob-", dir=store.tmp_dir)
        self._temp = Path(name)
        self._file: IO[bytes] = os.fdopen(handle, "wb")

    def write(self, data: bytes) -> int:
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self._file.flush()

    def tell(self) -> int:
        return self.size

    def commit(self) -> str:
        """Finish the blob: verify, fsync and rename it into place; returns its digest."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        digest = "sha256:" + self._hash.hexdigest()
        if self._expected is not None and digest != self._expected:
            self._temp.unlink(missing_ok=True)
            raise DigestError(
                f"content does not match its digest: expected {self._expected}, got {digest}",
                hint="the source is corrupt or changed while it was read; fetch it again",
            )
        target = self._store.path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._temp.chmod(0o444)
        self._temp.replace(target)
        _fsync_dir(target.parent)
        self.digest = digest
        return digest

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._temp.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


class BlobStore:
    """A content-addressed blob cache with layer selectors (see the module docstring)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_root()

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def path(self, digest: str) -> Path:
        """Where the blob ``digest`` lives (whether or not it is there yet)."""
        return self.root / "blobs" / "sha256" / digest_hex(digest)

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def open(self, digest: str) -> IO[bytes]:
        """The blob for reading; ``CachedBlobMissingError`` when it is not stored."""
        try:
            return self.path(digest).open("rb")
        except FileNotFoundError:
            raise CachedBlobMissingError(
                f"blob {digest} is not in the cache at {self.root}",
                hint="fetch or rebuild it before writing the image",
            ) from None

    def read_bytes(self, digest: str) -> bytes:
        """A small blob (a manifest or config) in memory."""
        with self.open(digest) as stream:
            return stream.read()

    def writer(self, *, expected_digest: str | None = None) -> BlobWriter:
        """A streaming writer for a new blob (see ``BlobWriter``)."""
        return BlobWriter(self, expected_digest=expected_digest)

    def put_bytes(self, data: bytes, *, expected_digest: str | None = None) -> str:
        """Store ``data``; returns its digest (a no-op when it is already stored)."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if expected_digest is not None and digest != expected_digest:
            digest_hex(expected_digest)
            raise DigestError(
                f"content does not match its digest: expected {expected_digest}, got {digest}"
            )
        if self.has(digest):
            return digest
        with self.writer(expected_digest=digest) as writer:
            writer.write(data)
        return digest

    def put_file(
        self,
        stream: IO[bytes],
        *,
        expected_digest: str | None = None,
        expected_size: int | None = None,
        source: str = "the source",
    ) -> tuple[str, int]:
        """Copy ``stream`` into the store in chunks; returns ``(digest, size)``.

        With ``expected_digest``, content that hashes differently raises
        ``DigestError`` and leaves nothing behind. With ``expected_size`` (a
        descriptor's size) at most that many bytes plus one are read: more
        or fewer raises ``BlobSizeError`` naming ``source``, so an endless
        source (``/dev/zero``) costs one byte too many, not the disk.
        """
        limit = None if expected_size is None else expected_size + 1
        with self.writer(expected_digest=expected_digest) as writer:
            while limit is None or writer.size < limit:
                wanted = _CHUNK if limit is None else min(_CHUNK, limit - writer.size)
                chunk = stream.read(wanted)
                if not chunk:
                    break
                writer.write(chunk)
            if expected_size is not None and writer.size != expected_size:
                raise BlobSizeError(
                    expected_digest or "(no digest given)",
                    declared=expected_size,
                    read=writer.size,
                    where=source,
                )
        return writer.digest, writer.size

    def get_selector(self, key: str) -> LayerInfo | None:
        """The layer recorded for ``key`` (from ``selector_key``), if its blob is still here."""
        try:
            raw = json.loads(self._selector_path(key).read_bytes())
            info = LayerInfo(
                digest=str(raw["digest"]),
                diff_id=str(raw["diff_id"]),
                size=int(raw["size"]),
                media_type=str(raw.get("media_type", OCI_LAYER_GZIP)),
            )
        except (OSError, ValueError, KeyError, TypeError, UvdockError):
            return None
        return info if self.has(info.digest) else None

    def put_selector(self, key: str, layer: LayerInfo) -> None:
        """Record that the inputs hashed to ``key`` produce ``layer`` (atomic replace)."""
        path = self._selector_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "diff_id": layer.diff_id,
            "digest": layer.digest,
            "size": layer.size,
            "media_type": layer.media_type,
        }
        with _atomic_file(path) as stream:
            stream.write(canonical_json(record))

    def _selector_path(self, key: str) -> Path:
        digest_hex("sha256:" + key)  # a key is a sha256 hex; refuse anything path-like
        return self.root / "selectors" / f"{key}.json"


@contextlib.contextmanager
def _atomic_file(path: Path) -> Iterator[IO[bytes]]:
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _fsync_dir(path: Path) -> None:
    # Make the rename itself durable; not every platform can open a directory.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
