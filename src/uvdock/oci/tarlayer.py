"""Deterministic layer tarballs: the entries of a layer, and writing them.

Why hand-written: Python's ``tarfile`` and ``gzip`` do the encoding, but left
to their defaults they record whatever the host happens to have (mtimes with
sub-second PAX records, owner names, umask-dependent modes, directory
listing order, the gzip header time and file name), so the same files give a
different digest on every machine. The determinism rules are ours
(image-spec ``layer.md`` plus what ko, Jib and apko do; research
``daemonless.md`` §5.3):

- entries sorted by path components (byte order, whiteouts before their
  siblings), every parent directory before its children, no duplicates;
- every mtime is the one ``epoch`` given (``SOURCE_DATE_EPOCH``), as an int,
  so no PAX ``mtime`` record is added; uname/gname are empty; uid/gid are
  what the entry says (0 unless asked);
- files are 0644, or 0755 when the owner may execute them; directories 0755
  unless the entry says otherwise (to match a base directory, jib#1270);
  symlinks 0777; no hard links (content is always written in full, even when
  uv hard-linked it from its cache), no devices, FIFOs or sockets;
- the POSIX/PAX format, where PAX headers appear only when ustar cannot hold
  a field (names over 100 bytes, non-ASCII names, huge sizes or ids);
- gzip through ``GzipFile(mtime=0, filename="")`` at level 6: no time and no
  name in the header. The gzip bytes still depend on zlib's version, so the
  **diff_id** (sha256 of the tar) is the reproducibility contract, and
  ``layer_selector`` mixes the zlib version into cache keys.

Layers are streamed: tar -> sha256 (diff_id) -> gzip -> sha256 (digest) ->
the blob store's temp file, so a 180 MB virtual environment is never held in
memory.

Reading a layer (a base image's, untrusted) is ``uvdock.oci.layerread``'s job.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import stat
import tarfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from uvdock.oci.blobs import BlobStore, selector_key
from uvdock.oci.model import OCI_LAYER_GZIP, ImageError, LayerInfo

__all__ = [
    "GZIP_LEVEL",
    "LAYER_FORMAT",
    "WHITEOUT_PREFIX",
    "DirectoryEntry",
    "Entry",
    "FileEntry",
    "LayerError",
    "SymlinkEntry",
    "WhiteoutEntry",
    "entries_from_directory",
    "layer_selector",
    "normalise_path",
    "write_layer",
]

#: Bump when anything about how layers are written changes: it invalidates selectors.
LAYER_FORMAT = "uvdock-layer/1"
GZIP_LEVEL = 6
#: A layer member named ``.wh.<name>`` deletes ``<name>`` from the layers below (layer.md).
WHITEOUT_PREFIX = ".wh."


class LayerError(ImageError):
    """A layer cannot be written as described, or read."""


# --- entries --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class FileEntry:
    """A regular file at ``path`` in the image, with content from a host file or bytes.

    ``executable=None`` takes the owner exec bit of a host file (bytes: not
    executable). The mode written is 0755 or 0644, nothing else.
    """

    path: str
    source: Path | bytes
    executable: bool | None = None
    uid: int = 0
    gid: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class DirectoryEntry:
    """A directory; ``mode`` can be set to match a base image's directory."""

    path: str
    mode: int = 0o755
    uid: int = 0
    gid: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class SymlinkEntry:
    """A symbolic link; ``target`` is written verbatim (absolute targets are in-image paths)."""

    path: str
    target: str
    uid: int = 0
    gid: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class WhiteoutEntry:
    """Deletes ``path`` (and everything below it) from the layers underneath."""

    path: str


Entry = FileEntry | DirectoryEntry | SymlinkEntry | WhiteoutEntry


def normalise_path(path: str, *, what: str = "entry") -> str:
    """``"/app/./x/"`` -> ``"app/x"``; refuses ``..`` and the root itself."""
    parts = [p for p in path.split("/") if p not in {"", "."}]
    if ".." in parts:
        raise LayerError(f"{what} path {path!r} has a '..' component")
    if not parts:
        raise LayerError(f"{what} path {path!r} names the root directory")
    return "/".join(parts)


def _sort_key(path: str) -> tuple[tuple[int, bytes], ...]:
    # Component-wise, so a directory's children follow it directly; whiteouts
    # before their siblings (layer.md "Whiteouts"); bytes, so no locale matters.
    return tuple(
        (0 if part.startswith(WHITEOUT_PREFIX) else 1, part.encode("utf-8", "surrogateescape"))
        for part in path.split("/")
    )


def _plan(entries: Iterable[Entry], *, add_parents: bool) -> list[tuple[str, Entry]]:
    """Entries by normalised tar path, checked, with missing parents added, sorted."""
    planned: dict[str, Entry] = {}
    for entry in entries:
        path = normalise_path(entry.path)
        name = path.rsplit("/", 1)[-1]
        if isinstance(entry, WhiteoutEntry):
            parent, _, _ = path.rpartition("/")
            path = f"{parent}/{WHITEOUT_PREFIX}{name}" if parent else f"{WHITEOUT_PREFIX}{name}"
        elif name.startswith(WHITEOUT_PREFIX):
            raise LayerError(
                f"{entry.path!r}: names starting with '.wh.' are whiteouts in image layers",
                hint="rename the file, or use WhiteoutEntry to delete a path",
            )
        if path in planned:
            raise LayerError(f"{entry.path!r} appears twice in one layer")
        planned[path] = entry
    for path in list(planned):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            existing = planned.get(parent)
            if existing is None:
                if add_parents:
                    planned[parent] = DirectoryEntry(path=parent)
            elif not isinstance(existing, DirectoryEntry):
                raise LayerError(f"{path!r} is inside {parent!r}, which is not a directory")
    return sorted(planned.items(), key=lambda item: _sort_key(item[0]))


def entries_from_directory(root: Path, *, prefix: str, uid: int = 0, gid: int = 0) -> list[Entry]:
    """Every file, directory and symlink below ``root``, placed under ``prefix`` in the image.

    The ``prefix`` directory itself is included (owned by ``uid``/``gid``)
    unless it is ``/``; its ancestors are left to ``write_layer``. Symlinks
    are kept as symlinks and never followed; hard-linked files become
    ordinary files. Devices, FIFOs and sockets are refused.

    Every directory is written 0755 and owned by ``uid``/``gid``. A directory
    the base image already has (``usr``, ``usr/local``...) would have its
    attributes replaced (layer.md; jib#1270): replace such entries with
    ``DirectoryEntry`` values copying the base's mode and ids, or drop them
    and pass ``add_parents=False``.
    """
    base = "/".join(p for p in prefix.split("/") if p not in {"", "."})
    if base:
        base = normalise_path(base, what="prefix")
    entries: list[Entry] = []
    if base:
        entries.append(DirectoryEntry(path=base, uid=uid, gid=gid))

    def walk(directory: Path, inside: str) -> None:
        with os.scandir(directory) as listing:
            names = sorted(listing, key=lambda item: item.name)
        for item in names:
            target = f"{inside}/{item.name}" if inside else item.name
            info = item.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                entries.append(
                    SymlinkEntry(
                        path=target, target=str(Path(item.path).readlink()), uid=uid, gid=gid
                    )
                )
            elif stat.S_ISDIR(info.st_mode):
                entries.append(DirectoryEntry(path=target, uid=uid, gid=gid))
                walk(Path(item.path), target)
            elif stat.S_ISREG(info.st_mode):
                entries.append(
                    FileEntry(
                        path=target,
                        source=Path(item.path),
                        executable=bool(info.st_mode & stat.S_IXUSR),
                        uid=uid,
                        gid=gid,
                    )
                )
            else:
                raise LayerError(
                    f"{item.path}: devices, FIFOs and sockets cannot go into an image layer",
                    hint="remove it from the directory, or exclude it",
                )

    walk(root, base)
    return entries


# --- writing --------------------------------------------------------------------


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class _HashingWriter:
    """Passes writes through, hashing and counting them (the diff_id side of the pipe).

    ``tarfile`` in ``"w"`` mode only writes and asks ``tell()`` once; the
    other methods exist for its ``_Fileobj`` protocol and are never called.
    """

    def __init__(self, sink: _Sink) -> None:
        self._sink = sink
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._sink.write(data)
        self._hash.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def read(self, _size: int, /) -> bytes:
        raise io.UnsupportedOperation("read")

    def seek(self, _pos: int, /) -> int:
        raise io.UnsupportedOperation("seek")

    def close(self) -> None:
        """The gzip stream underneath is closed by its owner."""

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


def layer_selector(inputs: Any) -> str:
    """``selector_key`` of ``inputs`` plus everything about how uvdock writes layers.

    A change of layer format, gzip level or zlib version gives new keys, so
    a cached blob is only reused when it would be byte-identical.
    """
    return selector_key(
        {
            "format": LAYER_FORMAT,
            "gzip": GZIP_LEVEL,
            "zlib": zlib.ZLIB_RUNTIME_VERSION,
            "inputs": inputs,
        }
    )


def write_layer(
    entries: Iterable[Entry], store: BlobStore, *, epoch: int, add_parents: bool = True
) -> LayerInfo:
    """Write ``entries`` as a deterministic gzip layer into ``store``; returns its digests.

    Equal entries (paths, kinds, contents, executable bits, targets, ids)
    and equal ``epoch`` give byte-identical layers, whatever the host files'
    mtimes, owners, modes beyond the owner exec bit, or listing order.
    With ``add_parents`` (the default) missing parent directories are added
    as root-owned 0755 entries; without, they are left implicit.
    """
    plan = _plan(entries, add_parents=add_parents)
    with (
        store.writer() as blob,
        gzip.GzipFile(
            fileobj=blob, mode="wb", compresslevel=GZIP_LEVEL, mtime=0, filename=""
        ) as compressed,
    ):
        raw = _HashingWriter(compressed)
        with tarfile.open(
            fileobj=raw,
            mode="w",
            format=tarfile.PAX_FORMAT,
            encoding="utf-8",
        ) as tar:
            for path, entry in plan:
                _add(tar, path, entry, epoch=epoch)
    return LayerInfo(
        digest=blob.digest, diff_id=raw.digest, size=blob.size, media_type=OCI_LAYER_GZIP
    )


def _header(
    path: str, *, kind: bytes, mode: int, uid: int, gid: int, epoch: int
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.type = kind
    info.mode = mode
    info.uid = uid
    info.gid = gid
    info.uname = ""
    info.gname = ""
    info.mtime = int(epoch)
    return info


def _add(tar: tarfile.TarFile, path: str, entry: Entry, *, epoch: int) -> None:
    if isinstance(entry, DirectoryEntry):
        tar.addfile(
            _header(
                path,
                kind=tarfile.DIRTYPE,
                mode=entry.mode & 0o7777,
                uid=entry.uid,
                gid=entry.gid,
                epoch=epoch,
            )
        )
    elif isinstance(entry, SymlinkEntry):
        info = _header(
            path, kind=tarfile.SYMTYPE, mode=0o777, uid=entry.uid, gid=entry.gid, epoch=epoch
        )
        info.linkname = entry.target
        tar.addfile(info)
    elif isinstance(entry, WhiteoutEntry):
        tar.addfile(_header(path, kind=tarfile.REGTYPE, mode=0o644, uid=0, gid=0, epoch=epoch))
    elif isinstance(entry.source, bytes):
        info = _header(
            path,
            kind=tarfile.REGTYPE,
            mode=0o755 if entry.executable else 0o644,
            uid=entry.uid,
            gid=entry.gid,
            epoch=epoch,
        )
        info.size = len(entry.source)
        tar.addfile(info, _BytesReader(entry.source))
    else:
        _add_host_file(tar, path, entry, entry.source, epoch=epoch)


def _add_host_file(
    tar: tarfile.TarFile, path: str, entry: FileEntry, source: Path, *, epoch: int
) -> None:
    with source.open("rb") as stream:
        info_stat = os.fstat(stream.fileno())
        if not stat.S_ISREG(info_stat.st_mode):
            raise LayerError(f"{source}: not a regular file")
        executable = entry.executable
        if executable is None:
            executable = bool(info_stat.st_mode & stat.S_IXUSR)
        info = _header(
            path,
            kind=tarfile.REGTYPE,
            mode=0o755 if executable else 0o644,
            uid=entry.uid,
            gid=entry.gid,
            epoch=epoch,
        )
        info.size = info_stat.st_size
        try:
            tar.addfile(info, stream)
        except OSError as err:
            raise LayerError(f"{source} shrank while it was being read: {err}") from err
        if stream.read(1):
            raise LayerError(
                f"{source} grew while it was being read",
                hint="make sure nothing writes to the build's files during the build",
            )


class _BytesReader:
    """The ``read`` tarfile needs, over bytes, without copying them into a BytesIO."""

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size < 0 else min(len(self._view), self._offset + size)
        chunk = bytes(self._view[self._offset : end])
        self._offset = end
        return chunk
