"""Image references and digests: parse ``[HOST/]NAME[:TAG][@DIGEST]`` as Docker does, check digests.

Pure: no HTTP. The grammar is distribution/reference's (``regexp.go``); the
digests this client can verify are sha256, sha384 and sha512 in lowercase hex.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

from uvdock.errors import UvdockError
from uvdock.oci.auth import DOCKER_HUB, canonical_host

__all__ = ["ImageReference", "check_digest", "digest_of", "normalize_host", "parse_reference"]

# distribution/reference's grammar (regexp.go).
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
)
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_HASHES = {"sha256": 64, "sha384": 96, "sha512": 128}


class ImageReference(NamedTuple):
    """A normalised image reference: ``(host, repository, tag or digest)``."""

    host: str
    repository: str
    reference: str

    @property
    def is_digest(self) -> bool:
        return ":" in self.reference

    def __str__(self) -> str:
        separator = "@" if self.is_digest else ":"
        return f"{self.host}/{self.repository}{separator}{self.reference}"


def _bad_reference(text: str, why: str) -> UvdockError:
    return UvdockError(
        f"invalid image reference {text!r}: {why}",
        hint="write it as [HOST[:PORT]/]NAME[:TAG][@sha256:DIGEST], e.g. ghcr.io/team/app:1.0",
    )


def parse_reference(text: str) -> ImageReference:
    """Split an image reference the way Docker normalises it.

    No host means Docker Hub (``docker.io``), whose single-name repositories
    live under ``library/``; no tag means ``latest``; with both a tag and a
    digest, the digest wins. ``parse_reference("python:3.13")`` is
    ``("docker.io", "library/python", "3.13")``.
    """
    rest = text.strip()
    if not rest:
        raise _bad_reference(text, "it is empty")
    digest = ""
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _is_digest(digest):
            raise _bad_reference(text, f"{digest!r} is not a supported digest")
    tag = ""
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        rest, tag = rest.rsplit(":", 1)
        if not _TAG.fullmatch(tag):
            raise _bad_reference(text, f"{tag!r} is not a valid tag")
    first, slash, remainder = rest.partition("/")
    if slash and (any(c in first for c in ".:") or first == "localhost" or first != first.lower()):
        host, path = first, remainder
        if not _DOMAIN.fullmatch(host):
            raise _bad_reference(text, f"{host!r} is not a valid registry host")
    else:
        host, path = DOCKER_HUB, rest
    host = normalize_host(host)
    if host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    for component in path.split("/"):
        if not _PATH_COMPONENT.fullmatch(component):
            why = (
                "repository names must be lowercase"
                if component.lower() != component
                else f"{component!r} is not a valid repository name component"
            )
            raise _bad_reference(text, why)
    if len(host) + 1 + len(path) > 255:  # noqa: PLR2004 - distribution's NameTotalLengthMax
        raise _bad_reference(text, "the name is longer than 255 characters")
    return ImageReference(host, path, digest or tag or "latest")


def normalize_host(host: str) -> str:
    """``docker.io`` for any of Docker Hub's names; any other registry host as written."""
    return canonical_host(host) if canonical_host(host) == DOCKER_HUB else host


def _is_digest(digest: str) -> bool:
    """Whether this client can verify ``digest`` (sha256/384/512, lowercase hex)."""
    algorithm, _, hexdigest = digest.partition(":")
    return (
        _DIGEST.fullmatch(digest) is not None
        and _HASHES.get(algorithm) == len(hexdigest)
        and re.fullmatch(r"[0-9a-f]+", hexdigest) is not None
    )


def check_digest(digest: str, *, what: str) -> tuple[str, str]:
    """``(algorithm, hex)`` of a digest this client can verify, else an error naming ``what``."""
    if not _is_digest(digest):
        raise UvdockError(
            f"{what}: {digest!r} is not a supported digest",
            hint="digests look like sha256:<64 lowercase hex digits>",
        )
    algorithm, _, hexdigest = digest.partition(":")
    return algorithm, hexdigest


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    """``algorithm:hex`` of ``data``."""
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
