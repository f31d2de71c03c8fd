"""Writing one platform of an image as a ``docker load`` archive.

The archive is the hybrid Docker 25+ ``docker save`` writes: an OCI layout
plus Docker's ``manifest.json`` whose ``Config`` and ``Layers`` point into
``blobs/sha256/``, so old and new engines, podman and containerd all load it.
It holds one platform (the classic image store keeps one per tag). The outer
tar is deterministic: sorted names, one mtime, uid/gid 0, fixed modes
(``docker save`` is not, moby#42766).
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from uvdock.oci.blobs import BlobStore
from uvdock.oci.layout import LAYOUT_VERSION, LayoutError, check_index_depth, is_attestation
from uvdock.oci.layoutwrite import require_blob, store_document
from uvdock.oci.model import (
    ANNOTATION_REF_NAME,
    IMAGE_MANIFEST_MEDIA_TYPES,
    INDEX_MEDIA_TYPES,
    OCI_INDEX,
    Descriptor,
    Platform,
    canonical_json,
    digest_hex,
)

__all__ = ["ANNOTATION_CONTAINERD_NAME", "write_docker_archive"]

#: The full image name containerd (and Docker's containerd store) reads from ``index.json``.
ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name"


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
    manifest = store_document(store, manifest_desc, "manifest")
    config = Descriptor.from_json(manifest["config"])
    layers = [Descriptor.from_json(layer) for layer in manifest["layers"]]
    for descriptor in (manifest_desc, config, *layers):
        require_blob(store, descriptor.digest)
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
    if image.media_type in IMAGE_MANIFEST_MEDIA_TYPES:
        return image
    if image.media_type not in INDEX_MEDIA_TYPES:
        raise LayoutError(f"{image.digest} is a {image.media_type}, not an image")
    check_index_depth(depth, where=f"{store.root}: {image.digest}")
    require_blob(store, image.digest)
    candidates = [
        Descriptor.from_json(child)
        for child in store_document(store, image, "index")["manifests"]
        if not is_attestation(child)
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
