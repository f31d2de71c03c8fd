"""Blob pushes: whether a blob is there (HEAD), a cross-repository mount, an upload session.

An upload is one PUT up to ``chunk_threshold`` bytes, else PATCH chunks and
a closing PUT. A session that fails midway (the registry lost it, a 5xx, a
dropped connection) raises ``TransientError``: the caller starts again from
its HEAD and POST. What the registry says it stored is checked against the
digest.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import BinaryIO, Literal

import httpx

from uvdock.errors import UvdockError
from uvdock.oci.registry.errors import (
    DigestMismatchError,
    ErrorMapper,
    RegistryError,
    TransientError,
    error_code,
)
from uvdock.oci.registry.requester import Requester
from uvdock.oci.registry.transport import Transport, is_private_address

__all__ = ["DEFAULT_CHUNK_THRESHOLD", "BlobUploader", "PushOutcome"]

_LOG = logging.getLogger(__name__)

DEFAULT_CHUNK_THRESHOLD = 16 * 1024 * 1024
"""Blobs up to this size go up in one PUT; larger ones in PATCH chunks of ``chunk_size``."""

_BLOCK = 1024 * 1024
_OCTET_STREAM = "application/octet-stream"

PushOutcome = Literal["present", "mounted", "uploaded"]
"""What ``push_blob`` did: found the blob there, mounted it from another repository, uploaded it."""


class BlobUploader:
    """Checks for, mounts and uploads blobs in the repositories of one registry."""

    def __init__(
        self,
        *,
        transport: Transport,
        requester: Requester,
        errors: ErrorMapper,
        chunk_threshold: int,
        chunk_size: int,
    ) -> None:
        self._transport = transport
        self._requester = requester
        self._errors = errors
        self._chunk_threshold = chunk_threshold
        self._chunk_size = max(1, chunk_size)

    def head(self, repository: str, digest: str, *, scopes: tuple[str, ...]) -> bool:
        """Whether the repository has the blob (HEAD ``/v2/<repo>/blobs/<digest>``)."""
        action = f"checking blob {digest} in {self._transport.host}/{repository}"
        response = self._requester.request(
            "HEAD", f"/v2/{repository}/blobs/{digest}", scopes=scopes, action=action
        )
        if response.status_code == httpx.codes.NOT_FOUND:
            return False
        self._errors.expect(response, (httpx.codes.OK,), action=action)
        return True

    def upload(
        self,
        repository: str,
        digest: str,
        size: int,
        open_fn: Callable[[], BinaryIO],
        *,
        mount_from: str | None,
        scopes: tuple[str, ...],
    ) -> PushOutcome:
        """Mount the blob from ``mount_from``, else upload it; ``TransientError`` to start again."""
        action = f"pushing blob {digest} to {self._transport.host}/{repository}"
        uploads = f"/v2/{repository}/blobs/uploads/"
        request = self._requester.request
        response: httpx.Response | None = None
        if mount_from and mount_from != repository:
            with contextlib.suppress(RegistryError):
                # ggcr#1404: a failed mount is retried without it; 202 starts an upload.
                response = request(
                    "POST",
                    uploads,
                    scopes=scopes,
                    params={"mount": digest, "from": mount_from},
                    body=b"",
                    action=action,
                    session=True,
                )
            if response is not None and response.status_code == httpx.codes.CREATED:
                self._check_stored(response, digest, action=action)
                return "mounted"
            if response is not None and response.status_code != httpx.codes.ACCEPTED:
                _LOG.debug("%s: mount answered %d", action, response.status_code)
                response = None
        if response is None:
            response = request(
                "POST", uploads, scopes=scopes, body=b"", action=action, session=True
            )
            self._errors.expect(response, (httpx.codes.ACCEPTED,), action=action)
        location = self._location(response, action=action)
        if size <= self._chunk_threshold:
            final = request(
                "PUT",
                location.copy_merge_params({"digest": digest}),
                scopes=scopes,
                headers={"Content-Type": _OCTET_STREAM, "Content-Length": str(size)},
                body=lambda: _read_exactly(open_fn, size, what=digest),
                action=action,
                session=True,
            )
        else:
            minimum = response.headers.get("oci-chunk-min-length", "")
            chunk_size = max(self._chunk_size, int(minimum) if minimum.isdigit() else 0)
            location = self._patch_chunks(
                location, open_fn, size, chunk_size, scopes=scopes, digest=digest, action=action
            )
            final = request(
                "PUT",
                location.copy_merge_params({"digest": digest}),
                scopes=scopes,
                headers={"Content-Length": "0"},
                body=b"",
                action=action,
                session=True,
            )
        self._expect_upload(final, (httpx.codes.CREATED,), digest=digest, action=action)
        self._check_stored(final, digest, action=action)
        return "uploaded"

    def _patch_chunks(
        self,
        location: httpx.URL,
        open_fn: Callable[[], BinaryIO],
        size: int,
        chunk_size: int,
        *,
        scopes: tuple[str, ...],
        digest: str,
        action: str,
    ) -> httpx.URL:
        offset = 0
        with open_fn() as source:
            while offset < size:
                chunk = source.read(min(chunk_size, size - offset))
                if not chunk:
                    raise _size_error(digest, size, offset)
                end = offset + len(chunk) - 1
                response = self._requester.request(
                    "PATCH",
                    location,
                    scopes=scopes,
                    headers={
                        "Content-Type": _OCTET_STREAM,
                        "Content-Range": f"{offset}-{end}",
                        "Content-Length": str(len(chunk)),
                    },
                    body=chunk,
                    action=action,
                    session=True,
                )
                self._expect_upload(response, (httpx.codes.ACCEPTED,), digest=digest, action=action)
                stored = response.headers.get("range", "")
                if stored and stored.rsplit("-", 1)[-1] != str(end):
                    raise TransientError(
                        RegistryError(
                            f"{action} failed: the registry holds bytes {stored}, "
                            f"not 0-{end}, of the upload",
                            hint="try again; the registry lost part of the upload",
                        )
                    )
                location = self._location(response, action=action)
                offset = end + 1
            if source.read(1):
                raise _size_error(digest, size, size + 1)
        return location

    def _location(self, response: httpx.Response, *, action: str) -> httpx.URL:
        """The upload URL a response points at: relative or absolute, query kept."""
        host = self._transport.host
        header = response.headers.get("location")
        if not header:
            raise RegistryError(
                f"{action} failed: {host} started an upload without a Location",
                hint="the registry does not follow the distribution spec",
            )
        url = response.request.url.join(header)
        here = httpx.URL(self._transport.base_url)
        # ggcr's nextLocation: no redirects into private networks from a public registry.
        if (
            url.host != here.host
            and is_private_address(url.netloc.decode())
            and not is_private_address(self._transport.api_host)
        ):
            raise RegistryError(
                f"{action} failed: {host} sent the upload to a private address ({url.host})",
                hint="refusing to follow it; check the registry",
            )
        return url

    def _check_stored(self, response: httpx.Response, digest: str, *, action: str) -> None:
        stored = response.headers.get("docker-content-digest")
        if stored and stored != digest and stored.split(":", 1)[0] == digest.split(":", 1)[0]:
            raise DigestMismatchError(
                f"{action}: the registry stored {stored}",
                hint="the content does not match its digest; rebuild it",
            )

    def _expect_upload(
        self,
        response: httpx.Response,
        statuses: tuple[int, ...],
        *,
        digest: str,
        action: str,
    ) -> None:
        if response.status_code in statuses:
            return
        code = error_code(response)
        if code == "DIGEST_INVALID":
            raise DigestMismatchError(
                f"{action} failed: {self._transport.host} says the content does not hash to"
                f" {digest}",
                hint="the file changed while it was pushed, or its digest is wrong; rebuild it",
            )
        if code == "BLOB_UPLOAD_UNKNOWN" or response.status_code in (
            httpx.codes.NOT_FOUND,
            httpx.codes.REQUESTED_RANGE_NOT_SATISFIABLE,
        ):
            raise TransientError(self._errors.status_error(response, action=action))
        self._errors.expect(response, statuses, action=action)


def _read_exactly(open_fn: Callable[[], BinaryIO], size: int, *, what: str) -> Iterator[bytes]:
    """The content in blocks, failing if it is not exactly ``size`` bytes."""
    sent = 0
    with open_fn() as source:
        while True:
            block = source.read(_BLOCK)
            if not block:
                break
            sent += len(block)
            if sent > size:
                raise _size_error(what, size, sent)
            yield block
    if sent != size:
        raise _size_error(what, size, sent)


def _size_error(digest: str, size: int, actual: int) -> UvdockError:
    found = "is longer" if actual > size else f"has only {actual}"
    return UvdockError(
        f"blob {digest} should be {size} bytes but {found}",
        hint="the file changed after its digest was computed; rebuild it",
    )
