"""``RegistryClient``: the distribution API's calls on one registry, composed from the steps.

Manifests (get, put) and blobs (head, get, push) by repository and digest or
tag. How a request is sent (transport, auth handshake, retries) and how a
blob goes up (mounts, upload sessions) live in the sibling modules; here are
the calls and the checks on what comes back: every digest is verified
(manifests pulled by digest, blobs while they stream to disk, and what the
registry says it stored). A blob download that loses its connection resumes;
a push whose upload session fails starts again from its HEAD and POST.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, Self

import httpx

from uvdock.errors import UvdockError
from uvdock.oci.auth import Credentials, find_credentials
from uvdock.oci.model import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    BlobSizeError,
)
from uvdock.oci.registry.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    ErrorMapper,
    ManifestNotFoundError,
    RegistryError,
    TransientError,
    error_code,
    error_detail,
    reason_of,
)
from uvdock.oci.registry.handshake import (
    CredentialCache,
    CredentialSource,
    Handshake,
    pull_scope,
    push_scope,
)
from uvdock.oci.registry.reference import ImageReference, check_digest, digest_of
from uvdock.oci.registry.requester import Requester
from uvdock.oci.registry.transport import RetryPolicy, Transport
from uvdock.oci.registry.upload import DEFAULT_CHUNK_THRESHOLD, BlobUploader, PushOutcome

__all__ = ["MANIFEST_AND_INDEX_MEDIA_TYPES", "MAX_MANIFEST_SIZE", "RegistryClient"]

_LOG = logging.getLogger(__name__)

MANIFEST_AND_INDEX_MEDIA_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST)
"""Every manifest and index media type a pull takes, in ``get_manifest``'s default ``Accept`` order.

OCI and Docker schema2, indexes and images; :data:`uvdock.oci.model.IMAGE_MANIFEST_MEDIA_TYPES`
is the image manifests alone.
"""

MAX_MANIFEST_SIZE = 4 * 1024 * 1024
"""The distribution spec's floor for what registries accept; larger manifests are refused."""


class RegistryClient:
    """Pull and push manifests and blobs on one registry.

    ``host`` is a registry as image references name it (``ghcr.io``,
    ``localhost:5000``, ``docker.io``). ``credentials`` is fixed credentials,
    ``None`` for anonymous only, or a function of the host (default:
    ``find_credentials``, asked once, on the first 401). ``sleep`` and
    ``clock`` are for tests; ``transport`` too (``httpx.MockTransport``).
    Safe to share between threads. Use as a context manager or ``close()`` it.
    """

    def __init__(
        self,
        host: str,
        *,
        insecure: bool | None = None,
        ca_bundle: Path | None = None,
        credentials: Credentials | CredentialSource | None = find_credentials,
        retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        chunk_threshold: int = DEFAULT_CHUNK_THRESHOLD,
        chunk_size: int = DEFAULT_CHUNK_THRESHOLD,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._retry = RetryPolicy(retries=retries, backoff=backoff, max_wait=max_wait, sleep=sleep)
        self._transport = Transport(
            host,
            insecure=insecure,
            ca_bundle=ca_bundle,
            timeout=timeout,
            transport=transport,
            retry=self._retry,
        )
        self.host = self._transport.host
        lock = threading.RLock()
        cache = CredentialCache(self.host, credentials, lock=lock)
        self._errors = ErrorMapper(self._transport, credentials=cache.peek)
        handshake = Handshake(
            transport=self._transport,
            errors=self._errors,
            credentials=cache,
            clock=clock,
            lock=lock,
        )
        self._requester = Requester(
            transport=self._transport, errors=self._errors, handshake=handshake, lock=lock
        )
        self._uploads = BlobUploader(
            transport=self._transport,
            requester=self._requester,
            errors=self._errors,
            chunk_threshold=chunk_threshold,
            chunk_size=chunk_size,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    @property
    def base_url(self) -> str:
        """``scheme://host`` of the registry's API (known for sure after the first request)."""
        return self._transport.base_url

    # --- public operations -------------------------------------------------------------------

    def get_manifest(
        self,
        repository: str,
        reference: str,
        *,
        accept: Sequence[str] = MANIFEST_AND_INDEX_MEDIA_TYPES,
    ) -> tuple[bytes, str, str]:
        """``(body, media type, digest)`` of the manifest or index at a tag or digest.

        A digest reference is verified against the body; a tag's digest is
        computed from the body (registries are not reliable about the
        ``Docker-Content-Digest`` header for tags, ggcr notes).
        """
        name = ImageReference(self.host, repository, reference)
        expected = check_digest(reference, what=str(name)) if ":" in reference else None
        path = f"/v2/{repository}/manifests/{reference}"
        headers = {"Accept": ", ".join(accept)}
        action = f"pulling manifest {name}"
        scopes = (pull_scope(repository),)
        with self._requester.open(
            "GET", path, scopes=scopes, headers=headers, action=action
        ) as response:
            if response.status_code == httpx.codes.NOT_FOUND:
                detail = error_detail(response, read=True) or "manifest unknown"
                raise ManifestNotFoundError(
                    f"{name} not found ({detail})",
                    hint=f"check the repository and tag; `skopeo list-tags docker://{self.host}/"
                    f"{repository}` lists the tags",
                )
            self._errors.expect(response, (httpx.codes.OK,), action=action)
            body = _read_limited(response, MAX_MANIFEST_SIZE, what=str(name))
        content_type = response.headers.get("content-type", "").split(";", 1)[0].strip()
        media_type = content_type if content_type in MANIFEST_AND_INDEX_MEDIA_TYPES else ""
        if not media_type:
            with contextlib.suppress(ValueError, AttributeError):
                media_type = str(json.loads(body).get("mediaType") or "")
        media_type = media_type or content_type
        if expected is not None:
            algorithm, _ = expected
            actual = digest_of(body, algorithm)
            if actual != reference:
                raise DigestMismatchError(
                    f"{name}: the registry sent a manifest whose digest is {actual}",
                    hint="the registry or a proxy altered it; do not use this image",
                )
            return body, media_type, reference
        return body, media_type, digest_of(body)

    def head_blob(self, repository: str, digest: str) -> bool:
        """Whether the repository has the blob (HEAD ``/v2/<repo>/blobs/<digest>``)."""
        check_digest(digest, what=f"blob in {self.host}/{repository}")
        return self._uploads.head(repository, digest, scopes=(pull_scope(repository),))

    def get_blob(
        self, repository: str, digest: str, dest: BinaryIO, *, size: int | None = None
    ) -> int:
        """Stream a blob into ``dest``, verifying its digest; the number of bytes written.

        Follows redirects (to storage on another host, without credentials).
        A connection lost midway resumes with a ``Range`` request, or starts
        again when ``dest`` can seek. ``size`` is the descriptor's: a
        ``Content-Length`` over it is refused before the body is read, and at
        most ``size + 1`` bytes are written, so a registry that streams
        forever cannot fill the disk (``BlobSizeError``). On that error or a
        ``DigestMismatchError`` the caller deletes what was written.
        """
        where = f"{self.host}/{repository}"
        algorithm, expected = check_digest(digest, what=f"blob in {where}")
        start = dest.tell() if dest.seekable() else 0
        hasher = hashlib.new(algorithm)
        written = 0
        failures = 0
        path = f"/v2/{repository}/blobs/{digest}"
        action = f"pulling blob {digest} from {self.host}/{repository}"
        while True:
            headers = {"Range": f"bytes={written}-"} if written else {}
            with self._requester.open(
                "GET", path, scopes=(pull_scope(repository),), headers=headers, action=action
            ) as response:
                if response.status_code == httpx.codes.NOT_FOUND:
                    raise BlobNotFoundError(
                        f"blob {digest} not found in {self.host}/{repository}",
                        hint="the image refers to a blob the registry does not have; "
                        "push the image again",
                    )
                self._errors.expect(
                    response, (httpx.codes.OK, httpx.codes.PARTIAL_CONTENT), action=action
                )
                resumed = response.headers.get("content-range", "").startswith(f"bytes {written}-")
                if written and not (
                    response.status_code == httpx.codes.PARTIAL_CONTENT and resumed
                ):
                    if not dest.seekable():
                        raise self._errors.unreachable(action, "connection lost; cannot resume")
                    dest.seek(start)
                    dest.truncate()
                    hasher, written = hashlib.new(algorithm), 0
                announced = response.headers.get("content-length", "")
                if size is not None and announced.isdigit() and written + int(announced) > size:
                    raise BlobSizeError(
                        digest, declared=size, read=written + int(announced), where=where
                    )
                try:
                    for chunk in response.iter_bytes():
                        if size is not None and written + len(chunk) > size:
                            # Stop here: the rest of the body is never read, or written.
                            read = written + len(chunk)
                            raise BlobSizeError(digest, declared=size, read=read, where=where)
                        hasher.update(chunk)
                        dest.write(chunk)
                        written += len(chunk)
                except httpx.TransportError as err:
                    failures += 1
                    if failures > self._retry.retries:
                        raise self._errors.unreachable(action, reason_of(err)) from err
                    _LOG.debug("%s: %s; resuming at byte %d", action, reason_of(err), written)
                    self._retry.pause(failures, None)
                    continue
            break
        if size is not None and written != size:
            raise BlobSizeError(digest, declared=size, read=written, where=where)
        if hasher.hexdigest() != expected:
            raise DigestMismatchError(
                f"blob from {self.host}/{repository} hashes to {algorithm}:{hasher.hexdigest()}, "
                f"not {digest}",
                hint="the registry or a proxy altered it; delete the download and try again",
            )
        return written

    def push_blob(
        self,
        repository: str,
        digest: str,
        size: int,
        open_fn: Callable[[], BinaryIO],
        *,
        mount_from: str | None = None,
    ) -> PushOutcome:
        """Make sure the repository has a blob: present already, mounted, or uploaded.

        ``open_fn`` opens the content afresh (uploads that fail midway start
        again). ``mount_from`` is another repository on this registry that has
        the blob (the base image's): a cross-repository mount copies nothing.
        Blobs up to ``chunk_threshold`` go up in one PUT, larger ones in
        ``chunk_size`` PATCHes.
        """
        check_digest(digest, what=f"blob for {self.host}/{repository}")
        scopes: tuple[str, ...] = (push_scope(repository),)
        if mount_from and mount_from != repository:
            scopes = (push_scope(repository), pull_scope(mount_from))
        failures = 0
        while True:
            try:
                if self._uploads.head(repository, digest, scopes=scopes):
                    return "present"
                return self._uploads.upload(
                    repository, digest, size, open_fn, mount_from=mount_from, scopes=scopes
                )
            except TransientError as err:
                failures += 1
                if failures > self._retry.retries:
                    raise err.final from err
                _LOG.debug("%s; starting the upload again", err.final.message)
                self._retry.pause(failures, err.retry_after)

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """PUT a manifest or index under a tag or digest; its digest.

        ``media_type`` is sent as ``Content-Type`` and must equal the body's
        ``mediaType`` when it has one. Push what it refers to first (blobs,
        then child manifests by digest, then the index by tag).
        """
        name = ImageReference(self.host, repository, reference)
        digest = digest_of(body)
        if ":" in reference:
            algorithm, _ = check_digest(reference, what=str(name))
            if digest_of(body, algorithm) != reference:
                raise DigestMismatchError(
                    f"{name}: the manifest's digest is {digest_of(body, algorithm)}",
                    hint="push a manifest by the digest of its exact bytes",
                )
            digest = reference
        declared = _declared_media_type(body)
        if declared and declared != media_type:
            raise UvdockError(
                f"{name}: the manifest says mediaType {declared} but is pushed as {media_type}",
                hint="the Content-Type of a manifest PUT must equal its mediaType",
            )
        action = f"pushing manifest {name}"
        response = self._requester.request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            scopes=(push_scope(repository),),
            headers={"Content-Type": media_type},
            body=body,
            action=action,
        )
        if error_code(response) in {"MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN"}:
            raise RegistryError(
                f"{self.host} rejected {name}: {error_detail(response)}",
                hint="push the blobs and child manifests a manifest refers to before it",
            )
        self._errors.expect(response, (httpx.codes.CREATED, httpx.codes.OK), action=action)
        stored = response.headers.get("docker-content-digest")
        if stored and stored.startswith(digest.split(":", 1)[0] + ":") and stored != digest:
            raise DigestMismatchError(
                f"{self.host} stored {name} as {stored}, not {digest}",
                hint="the registry rewrote the manifest; it does not keep manifests byte for byte",
            )
        return digest


# --- helpers ---------------------------------------------------------------------------------


def _declared_media_type(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    return str(data.get("mediaType") or "") if isinstance(data, dict) else ""


def _read_limited(response: httpx.Response, limit: int, *, what: str) -> bytes:
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(what, int(length))
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > limit:
            raise _too_large(what, total)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(what: str, size: int) -> RegistryError:
    return RegistryError(
        f"{what}: the manifest is over {MAX_MANIFEST_SIZE // (1024 * 1024)} MiB ({size} bytes)",
        hint="registries need not accept manifests that large; this is not an image manifest",
    )
