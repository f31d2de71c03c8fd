"""A client for the OCI distribution API: pull and push image manifests and blobs.

Written by hand because no well-kept Python library does distribution-spec
image push and pull well: oras-py models artifacts, not images (no image
indexes, no cross-repository mounts, whole blobs in memory); docker-py needs
a daemon; the rest are unmaintained. This package and ``uvdock.oci.auth`` are
the only parts of the daemonless engine that talk HTTP (httpx, sync API).
It follows the distribution spec and go-containerregistry's ``remote``
package (the reference client). One module a step, from the bottom up:

- :mod:`.reference`: image references and digests (pure).
- :mod:`.errors`: the exception classes; a failed response or connection
  mapped to one, with a hint and without secrets.
- :mod:`.transport`: scheme and TLS (HTTPS verified; plain HTTP for loopback
  or insecure registries, as Docker does), the httpx client, retries with
  backoff and ``Retry-After``.
- :mod:`.handshake`: ``WWW-Authenticate`` challenges, scopes, tokens; the
  credentials come from :mod:`uvdock.oci.auth`.
- :mod:`.requester`: one API request: ping, auth, 401 once more, retries.
- :mod:`.upload`: blob pushes: HEAD, cross-repository mount, upload session.
- :mod:`.client`: ``RegistryClient``, the distribution API's calls.

The names below are the public API; import them from here.
"""

from __future__ import annotations

from uvdock.oci.registry.client import (
    MANIFEST_AND_INDEX_MEDIA_TYPES,
    MAX_MANIFEST_SIZE,
    RegistryClient,
)
from uvdock.oci.registry.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    ManifestNotFoundError,
    RegistryAuthError,
    RegistryError,
    RegistryUnreachableError,
)
from uvdock.oci.registry.handshake import Challenge, CredentialSource, parse_challenges
from uvdock.oci.registry.reference import ImageReference, parse_reference
from uvdock.oci.registry.transport import is_loopback
from uvdock.oci.registry.upload import DEFAULT_CHUNK_THRESHOLD, PushOutcome

__all__ = [
    "DEFAULT_CHUNK_THRESHOLD",
    "MANIFEST_AND_INDEX_MEDIA_TYPES",
    "MAX_MANIFEST_SIZE",
    "BlobNotFoundError",
    "Challenge",
    "CredentialSource",
    "DigestMismatchError",
    "ImageReference",
    "ManifestNotFoundError",
    "PushOutcome",
    "RegistryAuthError",
    "RegistryClient",
    "RegistryError",
    "RegistryUnreachableError",
    "is_loopback",
    "parse_challenges",
    "parse_reference",
]
