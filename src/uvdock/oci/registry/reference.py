"""Image references and digests for the registry client: parse, check, compute.

Pure: no HTTP. Parsing lives in :mod:`uvdock.imageref` (the one parser of
image references, shared with the planner, the Docker engine and lint); it is
re-exported here because the client's callers import it from
:mod:`uvdock.oci.registry`. What is the client's own: a registry host as its
transport names it (:func:`normalize_host`), and the digests it can verify.
"""

from __future__ import annotations

import hashlib

from uvdock.errors import UvdockError
from uvdock.imageref import ImageReference, is_supported_digest, parse_reference
from uvdock.oci.auth import DOCKER_HUB, canonical_host

__all__ = ["ImageReference", "check_digest", "digest_of", "normalize_host", "parse_reference"]


def normalize_host(host: str) -> str:
    """``docker.io`` for any of Docker Hub's names; any other registry host as written."""
    return canonical_host(host) if canonical_host(host) == DOCKER_HUB else host


def check_digest(digest: str, *, what: str) -> tuple[str, str]:
    """``(algorithm, hex)`` of a digest this client can verify, else an error naming ``what``."""
    if not is_supported_digest(digest):
        raise UvdockError(
            f"{what}: {digest!r} is not a supported digest",
            hint="digests look like sha256:<64 lowercase hex digits>",
        )
    algorithm, _, hexdigest = digest.partition(":")
    return algorithm, hexdigest


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    """``algorithm:hex`` of ``data``."""
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
