"""The OCI image model: media types, digests, platforms, descriptors, canonical JSON.

Why hand-written: the image, manifest and index documents are small JSON
objects with a handful of rules that decide whether Docker, containerd,
skopeo and registries accept an image (image-spec ``config.md``,
``manifest.md``, ``image-index.md``). The Python libraries that model them
are either unmaintained or pull in a registry client; uvdock needs only the
rules, kept in few places so they can be tested. This module holds the
values the documents are made of:

- the media types of both families (OCI, Docker schema2) and the mapping
  between them (the blob bytes, and so the digests, do not change);
- ``sha256:`` digests, checked before one names a file;
- every JSON document is serialised canonically (sorted keys, no spaces, no
  trailing newline) so the same inputs always give the same digest.

Building the documents themselves (config, manifest, index) is
``uvdock.oci.documents``'s job; checking their shape is ``uvdock.oci.schema``'s.
Descriptors and platforms are frozen dataclasses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from uvdock.oci.schema import MAX_DOCUMENT_SIZE, ImageError, JSONObject, check_descriptor

__all__ = [
    "ANNOTATION_BASE_DIGEST",
    "ANNOTATION_BASE_NAME",
    "ANNOTATION_CREATED",
    "ANNOTATION_REF_NAME",
    "BLOB_SOURCE_HINT",
    "DOCKER_CONFIG",
    "DOCKER_FOREIGN_LAYER_GZIP",
    "DOCKER_LAYER_GZIP",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "IMAGE_MANIFEST_MEDIA_TYPES",
    "INDEX_MEDIA_TYPES",
    "MAX_DOCUMENT_SIZE",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_NONDISTRIBUTABLE_GZIP",
    "OCI_LAYER_TAR",
    "OCI_LAYER_ZSTD",
    "OCI_MANIFEST",
    "BlobSizeError",
    "Descriptor",
    "DigestError",
    "Family",
    "ImageError",
    "JSONBlob",
    "JSONObject",
    "LayerInfo",
    "Platform",
    "canonical_json",
    "convert_media_type",
    "digest_hex",
    "family_of",
    "rfc3339",
    "sha256_digest",
]

Family = Literal["oci", "docker"]

# --- media types (image-spec media-types.md; distribution manifest-v2-2.md) ---
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
IMAGE_MANIFEST_MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
"""Image manifests alone, OCI and Docker schema2: no index (``INDEX_MEDIA_TYPES``).

A pull accepts both: that list is ``uvdock.oci.registry.client.MANIFEST_AND_INDEX_MEDIA_TYPES``.
"""

# --- annotations (image-spec annotations.md) ---
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_CREATED = "org.opencontainers.image.created"
ANNOTATION_BASE_NAME = "org.opencontainers.image.base.name"
ANNOTATION_BASE_DIGEST = "org.opencontainers.image.base.digest"

# Docker type -> OCI type and back. The layer pairs are "interchangeable and
# fully compatible" (media-types.md compatibility matrix); only the string changes.
_TO_OCI = {
    DOCKER_MANIFEST_LIST: OCI_INDEX,
    DOCKER_MANIFEST: OCI_MANIFEST,
    DOCKER_CONFIG: OCI_CONFIG,
    DOCKER_LAYER_GZIP: OCI_LAYER_GZIP,
    DOCKER_FOREIGN_LAYER_GZIP: OCI_LAYER_NONDISTRIBUTABLE_GZIP,
}
_TO_DOCKER = {oci: docker for docker, oci in _TO_OCI.items()}
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")


class DigestError(ImageError):
    """A digest is malformed, or content does not hash to the digest it claims."""


BLOB_SOURCE_HINT = (
    "the image source is broken or hostile and nothing of it was kept; copy the image "
    "again from a source you trust, or use another base image"
)


class BlobSizeError(DigestError):
    """Content is not the size its descriptor declares: reading stopped at size + 1 bytes.

    A descriptor's ``size`` is how much uvdock reads, never more: a layout
    blob that is a link to ``/dev/zero`` or a registry that streams forever
    must not fill the disk before the digest check could fail (issue 12).
    """

    def __init__(self, digest: str, *, declared: int, read: int, where: str) -> None:
        found = (
            f"more than the {declared} bytes its descriptor declares (reading stopped there)"
            if read > declared
            else f"only {read} of the {declared} bytes its descriptor declares"
        )
        super().__init__(f"blob {digest} from {where} holds {found}", hint=BLOB_SOURCE_HINT)


# --- digests and JSON -------------------------------------------------------


def sha256_digest(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_hex(digest: str) -> str:
    """The hex part of a ``sha256:<64 hex>`` digest; anything else is refused.

    The hex becomes a file name under ``blobs/sha256/``, so this check is
    also what keeps a hostile digest from naming a path outside the store.
    """
    if not _DIGEST.fullmatch(digest):
        raise DigestError(
            f"unsupported or malformed digest {digest!r}",
            hint="expected 'sha256:' followed by 64 lowercase hex digits",
        )
    return digest.removeprefix("sha256:")


def canonical_json(value: Any) -> bytes:
    """The one serialisation uvdock hashes: sorted keys, compact, UTF-8, no newline."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def rfc3339(epoch: int) -> str:
    """``SOURCE_DATE_EPOCH`` seconds as the RFC 3339 UTC time image configs use."""
    moment = dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- platforms ----------------------------------------------------------------

_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm"}
_DEFAULT_VARIANT = {"arm": "v7"}
_VARIANT_ALIASES = {"8": "v8", "v8.0": "v8", "7": "v7", "6": "v6", "5": "v5"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Platform:
    """An OCI platform: GOOS/GOARCH values and an optional variant.

    Normalised on construction, as containerd's ``platforms.Normalize`` does:
    ``aarch64`` is ``arm64``, ``x86_64`` is ``amd64``, ``arm`` defaults to
    ``v7``, and ``arm64``'s only common variant ``v8`` is dropped, so
    ``linux/arm64`` and ``linux/arm64/v8`` (how Docker Hub's official images
    label it) are the same platform.
    """

    os: str
    architecture: str
    variant: str | None = None

    def __post_init__(self) -> None:
        arch = _ARCH_ALIASES.get(self.architecture.lower(), self.architecture.lower())
        variant = self.variant.lower() if self.variant else None
        variant = _VARIANT_ALIASES.get(variant, variant) if variant else None
        if arch == "arm64" and variant == "v8":
            variant = None
        variant = variant or _DEFAULT_VARIANT.get(arch)
        object.__setattr__(self, "os", self.os.lower())
        object.__setattr__(self, "architecture", arch)
        object.__setattr__(self, "variant", variant)

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``"linux/amd64"``, ``"linux/arm64"``, ``"linux/arm/v7"`` -> ``Platform``."""
        parts = text.strip().split("/")
        if len(parts) not in {2, 3} or not all(parts):
            raise ImageError(
                f"invalid platform {text!r}",
                hint="write it as os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7",
            )
        os_name, arch, *variant = parts
        return cls(os=os_name, architecture=arch, variant=variant[0] if variant else None)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Platform:
        """From an index descriptor's ``platform`` object, or an image config."""
        return cls(
            os=str(value.get("os", "")),
            architecture=str(value.get("architecture", "")),
            variant=value.get("variant") or None,
        )

    def to_json(self) -> JSONObject:
        """The descriptor ``platform`` object (arm64 written without ``v8``)."""
        out: JSONObject = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


# --- descriptors ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class Descriptor:
    """A reference to a blob: what it is, its digest and size, and optional extras."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict, hash=False)
    platform: Platform | None = None

    def __post_init__(self) -> None:
        digest_hex(self.digest)
        if self.size < 0:
            raise ImageError(f"descriptor {self.digest} has a negative size")

    @classmethod
    def from_json(cls, value: Any, *, where: str = "descriptor") -> Descriptor:
        """A descriptor from JSON, its shape checked (``DocumentError`` naming ``where``)."""
        checked = check_descriptor(value, where=where)
        platform = checked.get("platform")
        return cls(
            media_type=checked["mediaType"],
            digest=checked["digest"],
            size=checked["size"],
            annotations=dict(checked.get("annotations") or {}),
            platform=Platform.from_json(platform) if platform else None,
        )

    def to_json(self) -> JSONObject:
        out: JSONObject = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        return out

    def replace(self, **changes: Any) -> Descriptor:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True, kw_only=True)
class JSONBlob:
    """A JSON document serialised canonically, and the descriptor of those bytes."""

    data: bytes
    descriptor: Descriptor

    @classmethod
    def encode(
        cls,
        value: Any,
        *,
        media_type: str,
        platform: Platform | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> JSONBlob:
        data = canonical_json(value)
        return cls(
            data=data,
            descriptor=Descriptor(
                media_type=media_type,
                digest=sha256_digest(data),
                size=len(data),
                platform=platform,
                annotations=dict(annotations or {}),
            ),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LayerInfo:
    """A written layer: compressed ``digest``/``size`` for manifests, ``diff_id`` for configs."""

    digest: str
    diff_id: str
    size: int
    media_type: str = OCI_LAYER_GZIP

    def descriptor(self) -> Descriptor:
        return Descriptor(media_type=self.media_type, digest=self.digest, size=self.size)


# --- media-type families --------------------------------------------------------


def family_of(media_type: str) -> Family | None:
    """``"oci"`` or ``"docker"`` for a known manifest/index/config/layer type, else ``None``."""
    if media_type in _TO_OCI:
        return "docker"
    if media_type in _TO_DOCKER or media_type.startswith("application/vnd.oci."):
        return "oci"
    return None


def convert_media_type(media_type: str, family: Family) -> str:
    """The same kind of object in the other family (bytes unchanged); refuses what has no twin.

    Docker schema2 has no uncompressed or zstd layer type (containers/image#1270),
    so those cannot be written into a Docker manifest.
    """
    if family == "oci":
        return _TO_OCI.get(media_type, media_type)
    if media_type in _TO_OCI:
        return media_type
    if media_type in _TO_DOCKER:
        return _TO_DOCKER[media_type]
    raise ImageError(
        f"{media_type} has no Docker schema2 equivalent",
        hint="write the image with OCI media types, or use gzip layers",
    )
