"""Image references: defaults, registry-mirror prefixes, and what a tag says about Python.

Written by hand because the rules are small and specific: Docker's reference
grammar (registry host detection, the implicit ``docker.io/library/``), and
the tag conventions of the official ``python`` and uv images.
"""

from __future__ import annotations

import re

_PYTHON_IN_TAG = re.compile(r"(?:^|[-:])python(\d+)\.(\d+)|^python:(\d+)\.(\d+)")
_DEBIAN_GLIBC_MINOR = {"trixie": 41, "bookworm": 36, "bullseye": 31}
DEFAULT_GLIBC_MINOR = 36  # cautious when a tag does not say


def default_runtime_image(python: str) -> str:
    return f"python:{python}-slim-trixie"


def default_uv_image(uv_version: str) -> str:
    return f"ghcr.io/astral-sh/uv:{uv_version}"


def default_official_image(uv_version: str, python: str) -> str:
    return f"ghcr.io/astral-sh/uv:{uv_version}-python{python}-trixie-slim"


def split_reference(reference: str) -> tuple[str | None, str, str]:
    """``(registry or None, repository path, "":tag"/"@digest" suffix)``."""
    name, suffix = reference, ""
    if "@" in name:
        name, digest = name.split("@", 1)
        suffix = "@" + digest
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
        suffix = f":{tag}{suffix}"
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest, suffix
    return None, name, suffix


def with_prefix(reference: str, prefix: str | None) -> str:
    """Map an image onto a registry mirror: ``<prefix>/<path>``.

    Docker Hub's official images keep their ``library/`` path, as pull-through
    caches (Harbor, Artifactory, distribution's proxy) expect.
    """
    if not prefix:
        return reference
    registry, path, suffix = split_reference(reference)
    if registry in (None, "docker.io", "index.docker.io") and "/" not in path:
        path = f"library/{path}"
    return f"{prefix.rstrip('/')}/{path}{suffix}"


def python_of_image(reference: str) -> str | None:
    """The Python minor an image tag promises (``python:3.13-slim``, ``uv:X-python3.13-...``)."""
    _, path, suffix = split_reference(reference)
    tag = suffix.lstrip(":").split("@", 1)[0]
    name = path.rsplit("/", 1)[-1]
    if name == "python":
        match = re.match(r"^(\d+)\.(\d+)", tag)
        return f"{match.group(1)}.{match.group(2)}" if match else None
    match = re.search(r"python(\d+)\.(\d+)", tag)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def glibc_minor_of_image(reference: str) -> int | None:
    """glibc 2.x of the Debian release a tag names; None for musl (alpine)."""
    _, _, suffix = split_reference(reference)
    tag = suffix.lower()
    if "alpine" in tag:
        return None
    for release, minor in _DEBIAN_GLIBC_MINOR.items():
        if release in tag:
            return minor
    return DEFAULT_GLIBC_MINOR


def is_pinned(reference: str) -> bool:
    _, _, suffix = split_reference(reference)
    if "@sha256:" in suffix:
        return True
    tag = suffix.lstrip(":")
    return bool(tag) and tag != "latest"
