"""``docker-daemon:IMAGE``: a base image taken from the local Docker Engine, as skopeo names it.

``saved_image`` runs ``docker image save -o FILE IMAGE`` (the docker CLI
streams the archive to the file, so a 1 GB image is never held in memory),
unpacks the archive into a private temporary directory and yields it as an
OCI image layout that :func:`uvdock.oci.layout.read_layout` opens.

Why hand-written: no library turns what ``docker save`` writes into an OCI
layout for us (docker-py only hands back the tar stream; skopeo's
``docker-daemon:`` transport is Go, a separate tool), and what each engine
writes differs in ways that matter here (Docker Engine 26.1, checked):

- Docker 25+ writes an OCI layout (``oci-layout``, ``index.json``,
  ``blobs/sha256/``) plus the legacy ``manifest.json``. With the classic image
  store the one ``index.json`` entry is an OCI manifest whose layers are the
  *uncompressed* diffs (``application/vnd.oci.image.layer.v1.tar``, digest =
  diff_id); the layer reader takes plain tars as well as gzip.
- With the containerd image store the entry is the image's original index
  (often a Docker manifest list) with the original compressed blobs, and
  only the platforms the engine pulled are in the archive: the other
  manifests are named but absent. ``read_layout`` reads every manifest an
  index names, so the saved ``index.json`` is rewritten to list the
  manifests that are present, each with its platform.
- Engines before 25 write only ``manifest.json`` and ``<id>/layer.tar``
  files (repeated layers as symlinks); that is converted (see
  ``_layout_from_legacy``).

The archive is untrusted input like any layer: only directories and regular
files are created, in a fresh directory, and members with ``..`` components,
absolute names, hard links, devices or symlinks that leave the archive are
refused. Symlinks are never created; one that stays inside the archive is
only remembered, to find a legacy archive's repeated layer.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from uvdock._proc import ProcessResult, Runner, default_runner
from uvdock.docker.cli import docker_binary
from uvdock.errors import (
    ConfigError,
    ProcessFailedError,
    ToolNotFoundError,
    UvdockError,
)
from uvdock.oci.layout import LAYOUT_VERSION, LayoutError
from uvdock.oci.model import (
    ANNOTATION_REF_NAME,
    IMAGE_MANIFEST_MEDIA_TYPES,
    INDEX_MEDIA_TYPES,
    MAX_DOCUMENT_SIZE,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_LAYER_TAR,
    OCI_MANIFEST,
    JSONObject,
    Platform,
    canonical_json,
    digest_hex,
    sha256_digest,
)
from uvdock.oci.schema import DocumentError, check_config, check_index, check_manifest

__all__ = ["DaemonImageError", "SavedArchiveError", "SavedDocumentError", "saved_image"]

_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
# The docker CLI's own words (checked against Docker 26.1 and 28.2 clients and
# both image stores) for the failures that have a next step of their own.
_NOT_RUNNING = (
    "cannot connect to the docker daemon",
    "error during connect",
    "is the docker daemon running",
    "permission denied while trying to connect",
)
_NOT_PRESENT = ("no such image", "reference does not exist", "not found")
_BAD_NAME = "invalid reference format"


class DaemonImageError(UvdockError):
    """The local Docker Engine cannot give the image (not running, no such image, ...)."""


class SavedArchiveError(UvdockError):
    """The archive ``docker save`` wrote cannot be read, or is unsafe to unpack."""


class SavedDocumentError(SavedArchiveError, DocumentError):
    """A document in the saved archive is not of the shape the image spec gives it."""


@contextlib.contextmanager
def saved_image(
    image: str, *, runner: Runner = default_runner, binary: str | None = None
) -> Iterator[tuple[Path, str | None]]:
    """``image`` from the local Docker Engine as ``(OCI layout directory, ref name or None)``.

    The layout lives in a temporary directory removed on exit; the ref name
    is ``None`` because the layout then holds one image (one manifest per
    platform the engine has). A ``LayoutError`` raised by the caller inside
    the ``with`` block (e.g. a platform the engine does not hold) is re-raised
    naming ``docker-daemon:IMAGE`` rather than the temporary directory.
    """
    where = f"docker-daemon:{image}"
    if not image.strip():
        raise ConfigError(f"{where}: no image named", hint="write docker-daemon:NAME[:TAG]")
    docker = binary or docker_binary()
    with tempfile.TemporaryDirectory(prefix="uvdock-daemon-") as tmp:
        archive = Path(tmp) / "image.tar"
        _save(image, archive, runner=runner, docker=docker)
        layout_dir = Path(tmp) / "layout"
        layout_dir.mkdir()
        aliases = _extract(archive, layout_dir, where=where)
        archive.unlink()  # the blobs are unpacked: give the disk space back now
        if (layout_dir / "index.json").is_file():
            _flatten_index(layout_dir, where=where)
        elif (layout_dir / "manifest.json").is_file():
            _layout_from_legacy(layout_dir, aliases, where=where)
        else:
            raise SavedArchiveError(
                f"{where}: docker save wrote neither index.json nor manifest.json",
                hint="check the engine with `uvdock doctor`, or use the registry reference",
            )
        try:
            yield layout_dir, None
        except LayoutError as err:
            # read_layout's words, about our temporary copy, said of the engine's image
            message = err.message.replace(str(layout_dir), where)
            raise DaemonImageError(
                message.replace("the layout holds", "the engine holds"),
                hint=f"pull the platform you need (`docker pull --platform OS/ARCH {image}`; "
                "the classic image store keeps one per tag), or use the registry reference",
            ) from err


def _save(image: str, archive: Path, *, runner: Runner, docker: str) -> None:
    where = f"docker-daemon:{image}"
    try:
        done: ProcessResult = runner([docker, "image", "save", "-o", str(archive), image])
    except ToolNotFoundError as err:
        raise ToolNotFoundError(
            f"{where} needs the docker CLI, and {docker} was not found",
            hint="install Docker, or name the base image by its registry reference",
        ) from err
    if done.ok:
        if not archive.is_file():
            raise SavedArchiveError(f"{where}: docker image save wrote no archive")
        return
    said = done.tail(1)
    lowered = said.lower()
    if any(words in lowered for words in _NOT_RUNNING):
        raise DaemonImageError(
            f"cannot read {where}: the Docker Engine is not running or not reachable ({said})",
            hint="start Docker (`uvdock doctor` checks it), or name the base image by its "
            "registry reference",
        )
    if _BAD_NAME in lowered:
        raise ConfigError(
            f"{where}: not an image name ({said})", hint="write docker-daemon:NAME[:TAG]"
        )
    if any(words in lowered for words in _NOT_PRESENT):
        raise DaemonImageError(
            f"{where}: no such image in the local Docker Engine",
            hint=f"pull it first (`docker pull {image}`), or use the registry reference "
            f"directly (--base-image {image})",
        )
    raise ProcessFailedError(
        f"docker image save {image} failed: {said or f'exit code {done.returncode}'}",
        hint="check the engine with `uvdock doctor`",
    )


# --- unpacking -------------------------------------------------------------------


def _extract(archive: Path, dest: Path, *, where: str) -> dict[str, str]:
    """Unpack ``archive`` into the empty directory ``dest``; returns its inner symlinks.

    Only directories and regular files are created. Since no symlink is ever
    created in ``dest``, no path can lead out of it; files are opened with
    ``O_EXCL | O_NOFOLLOW`` all the same, so a name given twice is refused.
    The returned symlinks (path -> target path, both archive-relative) are
    only those whose target stays inside the archive.
    """
    aliases: dict[str, str] = {}
    path = ""
    try:
        with tarfile.open(archive, mode="r|") as tar:  # streaming: one pass, no member table
            for member in tar:
                path = _member_path(member, where=where)
                if member.isdir():
                    if path:
                        (dest / path).mkdir(parents=True, exist_ok=True)
                elif member.isfile() and path:
                    stream = tar.extractfile(member)
                    if stream is None:  # pragma: no cover - a regular file always has data
                        continue
                    _write_new(dest / path, stream)
                elif member.issym() and path:
                    aliases[path] = _link_target(path, member.linkname, where=where)
                else:
                    kind = "a hard link" if member.islnk() else f"of type {member.type!r}"
                    raise SavedArchiveError(
                        f"{where}: the saved archive's member {member.name!r} is {kind}; "
                        "only files and directories are unpacked"
                    )
    except (tarfile.TarError, EOFError, zlib.error) as err:
        raise SavedArchiveError(
            f"{where}: cannot read the archive docker saved: {err}",
            hint="check the engine with `uvdock doctor`, or use the registry reference",
        ) from err
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as err:
        raise SavedArchiveError(
            f"{where}: the saved archive names {path!r} twice, or as a file and a directory"
        ) from err
    except OSError as err:
        raise SavedArchiveError(
            f"{where}: cannot unpack the saved image into {dest} ({err.strerror or err})",
            hint="check the free space of the temporary directory (TMPDIR)",
        ) from err
    return aliases


def _member_path(member: tarfile.TarInfo, *, where: str) -> str:
    """The member's archive-relative path (``""`` for the root); refuses what could escape."""
    name = member.name
    parts = [p for p in name.split("/") if p not in {"", "."}]
    if name.startswith("/") or ".." in parts:
        raise SavedArchiveError(
            f"{where}: the saved archive's member {name!r} leaves the archive "
            "(an absolute path or a '..' component)"
        )
    return "/".join(parts)


def _link_target(path: str, target: str, *, where: str) -> str:
    """A symlink's target as an archive path; refused when it is absolute or climbs out."""
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
        raise SavedArchiveError(
            f"{where}: the saved archive's symlink {path!r} points outside it ({target!r})"
        )
    return resolved


def _write_new(target: Path, stream: IO[bytes]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(target, flags, 0o644), "wb") as out:
        while chunk := stream.read(_CHUNK):
            out.write(chunk)


# --- the OCI layout docker 25+ writes ----------------------------------------------


def _flatten_index(layout: Path, *, where: str) -> None:
    """Rewrite ``index.json`` to list the saved image's manifests that are all there.

    The containerd image store saves the image's original index, whose
    manifests for platforms the engine never pulled are absent; a nested
    index is flattened into its present manifests, each entry keeping the
    platform the index gave it and the top entry's annotations (the ref name).
    """
    if _read_json(layout / "oci-layout", where=where).get("imageLayoutVersion") != LAYOUT_VERSION:
        raise SavedArchiveError(f"{where}: docker save wrote an OCI layout of an unknown version")
    index = _read_json(layout / "index.json", where=where)
    entries = check_index(index, where=f"{where}: index.json", error=SavedDocumentError)[
        "manifests"
    ]
    if not entries:
        raise SavedArchiveError(f"{where}: the saved index.json names no image")
    if len({entry.get("digest") for entry in entries}) > 1:
        raise SavedArchiveError(
            f"{where}: the saved archive holds {len(entries)} different images, not one"
        )
    top = entries[0]
    kept = list(_present_manifests(layout, top, dict(top.get("annotations") or {}), where=where))
    if not kept:
        raise DaemonImageError(
            f"{where}: the engine holds none of the image's content (only its index)",
            hint=f"pull it (`docker pull {where.removeprefix('docker-daemon:')}`), or use the "
            "registry reference",
        )
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": kept}
    (layout / "index.json").write_bytes(canonical_json(index))


def _present_manifests(
    layout: Path, entry: JSONObject, annotations: dict[str, str], *, where: str, depth: int = 0
) -> Iterator[JSONObject]:
    """The index entry of every manifest below ``entry`` whose blobs are all there."""
    media_type = entry.get("mediaType")
    if media_type in INDEX_MEDIA_TYPES and depth < 4:  # noqa: PLR2004 - real images nest once
        index = _blob_json(layout, entry, where=where)
        check_index(index, where=f"{where}: {entry['digest']}", error=SavedDocumentError)
        for child in index["manifests"]:
            merged = {**annotations, **(child.get("annotations") or {})}
            yield from _present_manifests(layout, child, merged, where=where, depth=depth + 1)
    elif media_type in IMAGE_MANIFEST_MEDIA_TYPES:
        if not _has_blob(layout, entry):
            return  # a platform the engine did not pull
        manifest = _blob_json(layout, entry, where=where)
        check_manifest(manifest, where=f"{where}: {entry['digest']}", error=SavedDocumentError)
        config = manifest["config"]
        if not all(_has_blob(layout, d) for d in [config, *manifest["layers"]]):
            return
        platform = entry.get("platform")
        if not platform:
            config_json = _blob_json(layout, config, where=where)
            config_where = f"{where}: {config['digest']}"
            check_config(config_json, where=config_where, error=SavedDocumentError)
            platform = Platform.from_json(config_json).to_json()
        yield {**entry, "platform": platform, "annotations": annotations}


def _has_blob(layout: Path, descriptor: JSONObject) -> bool:
    try:
        return (layout / "blobs" / "sha256" / digest_hex(str(descriptor.get("digest")))).is_file()
    except UvdockError:  # not a sha256 digest
        return False


def _blob_json(layout: Path, descriptor: JSONObject, *, where: str) -> JSONObject:
    digest = str(descriptor.get("digest"))
    path = layout / "blobs" / "sha256" / digest_hex(digest)
    try:
        data = _read_document(path)
    except FileNotFoundError:
        raise SavedArchiveError(f"{where}: the saved archive lacks {digest}") from None
    if sha256_digest(data) != digest:
        raise SavedArchiveError(f"{where}: the saved blob {digest} does not match its digest")
    return _parse(data, what=f"{where}: blob {digest}")


def _read_document(path: Path) -> bytes:
    """At most ``MAX_DOCUMENT_SIZE + 1`` bytes: a layer named as a manifest is not read whole."""
    with path.open("rb") as stream:  # _extract created it: a regular file
        return stream.read(MAX_DOCUMENT_SIZE + 1)


def _read_json(path: Path, *, where: str) -> JSONObject:
    try:
        data = _read_document(path)
    except FileNotFoundError:
        raise SavedArchiveError(f"{where}: the saved archive lacks {path.name}") from None
    return _parse(data, what=f"{where}: {path.name}")


def _parse(data: bytes, *, what: str) -> JSONObject:
    if len(data) > MAX_DOCUMENT_SIZE:
        raise SavedDocumentError(f"{what} is over the 4 MiB an image document may be")
    try:
        value: Any = json.loads(data)
    except RecursionError:
        raise SavedDocumentError(f"{what} nests too deep to be an image document") from None
    except ValueError as err:
        raise SavedArchiveError(f"{what} is not valid JSON: {err}") from err
    if not isinstance(value, dict):
        raise SavedArchiveError(f"{what} is not a JSON object")
    return value


# --- the legacy format (Docker Engine before 25) ------------------------------------

# Converted rather than refused: engines before 25 are what several current
# distributions still ship (Debian 12's docker.io is 20.10), and the format
# carries everything a layout needs: its layer.tar files are the uncompressed
# diffs the config's rootfs.diff_ids name, so each layer's digest is its
# diff_id and every byte is checked against the config before it is used.


def _layout_from_legacy(layout: Path, aliases: dict[str, str], *, where: str) -> None:
    """Turn a legacy ``docker save`` archive (``manifest.json``) into an OCI layout in place."""
    try:
        listing: Any = json.loads((layout / "manifest.json").read_bytes())
    except ValueError as err:
        raise SavedArchiveError(f"{where}: the saved manifest.json is not valid JSON") from err
    if not isinstance(listing, list) or len(listing) != 1 or not isinstance(listing[0], dict):
        count = len(listing) if isinstance(listing, list) else "no"
        raise SavedArchiveError(f"{where}: the saved manifest.json lists {count} images, not one")
    entry = listing[0]
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    config_path = _archive_file(layout, aliases, str(entry.get("Config", "")), where=where)
    config_bytes = config_path.read_bytes()
    config = _parse(config_bytes, what=f"{where}: the saved image config")
    config_digest = _place(config_path, sha256_digest(config_bytes), blobs)
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    names = [str(name) for name in entry.get("Layers") or []]
    if len(names) != len(diff_ids):
        raise SavedArchiveError(
            f"{where}: the saved manifest.json lists {len(names)} layers, "
            f"the image config {len(diff_ids)}"
        )
    layers = []
    for name, diff_id in zip(names, diff_ids, strict=True):
        path = _archive_file(layout, aliases, name, where=where)
        digest, actual_diff_id, compressed = _layer_digests(path)
        if actual_diff_id != diff_id:
            raise SavedArchiveError(
                f"{where}: the saved layer {name} is not the layer {diff_id} the config names"
            )
        size = path.stat().st_size
        _place(path, digest, blobs)
        media_type = OCI_LAYER_GZIP if compressed else OCI_LAYER_TAR
        layers.append({"mediaType": media_type, "digest": digest, "size": size})
    config_descriptor = {
        "mediaType": OCI_CONFIG,
        "digest": config_digest,
        "size": len(config_bytes),
    }
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config_descriptor,
            "layers": layers,
        }
    )
    manifest_digest = sha256_digest(manifest)
    (blobs / digest_hex(manifest_digest)).write_bytes(manifest)
    platform = Platform.from_json(config)
    tags = [str(tag) for tag in entry.get("RepoTags") or []]
    annotations = {ANNOTATION_REF_NAME: tags[0].rpartition(":")[2]} if tags else {}
    index_entry = {"mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": len(manifest),
                   "platform": platform.to_json(), "annotations": annotations}  # fmt: skip
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [index_entry]}
    (layout / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": LAYOUT_VERSION}))
    (layout / "index.json").write_bytes(canonical_json(index))


def _archive_file(layout: Path, aliases: dict[str, str], name: str, *, where: str) -> Path:
    """The unpacked file an archive path names, following the archive's own symlinks."""
    parts = [p for p in name.split("/") if p not in {"", "."}]
    path = "/".join(parts)
    for _ in range(8):  # a chain of links, or a loop
        if path not in aliases:
            break
        path = aliases[path]
    if name.startswith("/") or ".." in parts or not path or not (layout / path).is_file():
        raise SavedArchiveError(f"{where}: the saved manifest.json names {name!r}, not in it")
    return layout / path


def _layer_digests(path: Path) -> tuple[str, str, bool]:
    """``(digest, diff_id, gzip-compressed)`` of a layer file, in one streaming pass each."""
    raw = hashlib.sha256()
    with path.open("rb") as stream:
        compressed = stream.read(2) == _GZIP_MAGIC
        stream.seek(0)
        while chunk := stream.read(_CHUNK):
            raw.update(chunk)
    digest = "sha256:" + raw.hexdigest()
    if not compressed:
        return digest, digest, False
    plain = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                plain.update(chunk)
    except (OSError, EOFError, zlib.error) as err:
        raise SavedArchiveError(f"{path.name}: a corrupt gzip layer ({err})") from err
    return digest, "sha256:" + plain.hexdigest(), True


def _place(path: Path, digest: str, blobs: Path) -> str:
    """Give ``path`` its blob name too: a hard link (same directory tree), else a copy."""
    target = blobs / digest_hex(digest)
    if path != target and not target.exists():
        try:
            target.hardlink_to(path)
        except OSError:  # a filesystem without hard links
            shutil.copyfile(path, target)
    return digest
