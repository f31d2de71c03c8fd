"""Image references: defaults, registry-mirror prefixes, and what a tag says about Python.

Written by hand because the rules are small and specific: the tag conventions
of the official ``python`` and uv images. References are split by
:mod:`uvdock.imageref` (leniently: a base image may also be ``oci:DIR[:REF]``).
"""

from __future__ import annotations

import re

from uvdock.imageref import ImageName, split_reference

_DEBIAN_GLIBC_MINOR = {"trixie": 41, "bookworm": 36, "bullseye": 31}
DEFAULT_GLIBC_MINOR = 36  # cautious when a tag does not say


def _split(reference: str) -> ImageName:
    # Settings were checked against their grammar; a base image may be oci:DIR:REF.
    return split_reference(reference, any_tag=True)


def default_runtime_image(python: str) -> str:
    return f"python:{python}-slim-trixie"


def default_uv_image(uv_version: str) -> str:
    return f"ghcr.io/astral-sh/uv:{uv_version}"


def default_official_image(uv_version: str, python: str) -> str:
    return f"ghcr.io/astral-sh/uv:{uv_version}-python{python}-trixie-slim"


def with_prefix(reference: str, prefix: str | None) -> str:
    """Map an image onto a registry mirror: ``<prefix>/<path>``.

    Docker Hub's official images keep their ``library/`` path, as pull-through
    caches (Harbor, Artifactory, distribution's proxy) expect.
    """
    if not prefix:
        return reference
    parts = _split(reference)
    path = parts.path
    if parts.on_docker_hub and "/" not in path:
        path = f"library/{path}"
    return f"{prefix.rstrip('/')}/{path}{parts.suffix}"


def python_of_image(reference: str) -> str | None:
    """The Python minor an image tag promises (``python:3.13-slim``, ``uv:X-python3.13-...``)."""
    parts = _split(reference)
    tag = parts.tag or ""
    name = parts.path.rsplit("/", 1)[-1]
    if name == "python":
        match = re.match(r"^(\d+)\.(\d+)", tag)
        return f"{match.group(1)}.{match.group(2)}" if match else None
    match = re.search(r"python(\d+)\.(\d+)", tag)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def glibc_minor_of_image(reference: str) -> int | None:
    """glibc 2.x of the Debian release a tag names; None for musl (alpine)."""
    tag = _split(reference).suffix.lower()
    if "alpine" in tag:
        return None
    for release, minor in _DEBIAN_GLIBC_MINOR.items():
        if release in tag:
            return minor
    return DEFAULT_GLIBC_MINOR


def is_pinned(reference: str) -> bool:
    """Whether a reference names a digest or a tag other than ``latest``."""
    parts = _split(reference)
    return bool(parts.digest) or parts.tag not in (None, "", "latest")
