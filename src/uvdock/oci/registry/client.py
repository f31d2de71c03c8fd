"""A client for the OCI distribution API: pull and push image manifests and blobs.

Written by hand because no well-kept Python library does distribution-spec
image push and pull well: oras-py models artifacts, not images (no image
indexes, no cross-repository mounts, whole blobs in memory); docker-py needs
a daemon; the rest are unmaintained. This module and ``uvdock.oci.auth`` are
the only parts of the daemonless engine that talk HTTP (httpx, sync API).

What it does, following the distribution spec and go-containerregistry's
``remote`` package (the reference client):

- scheme: HTTPS with TLS verification (httpx's default trust, which honours
  ``SSL_CERT_FILE``, plus ``ca_bundle`` when given); plain HTTP for loopback
  registries or ``insecure=True``, as Docker treats 127.0.0.0/8 and ::1 as
  insecure. A plain-HTTP ping answered "HTTP request to an HTTPS server"
  switches to HTTPS without verification, as Docker does for insecure
  registries. An untrusted certificate, or a plain-HTTP answer to HTTPS, is
  one clear error, not retried.
- auth: anonymous first; a 401's ``WWW-Authenticate`` decides: ``Bearer``
  gets a token from the realm (with basic credentials when there are some,
  or an identity token's OAuth2 exchange), cached by the scopes it was asked
  for, so one ``push,pull`` token also serves pulls; ``Basic`` sends the
  credentials. Credentials go only to the registry's own host and its realm.
- retries with exponential backoff on 429 (honouring ``Retry-After``), 5xx
  and connection errors, for idempotent steps; a blob upload that fails
  midway starts again from its HEAD and POST.
- every digest is checked: manifests pulled by digest, blobs while they
  stream to disk, and what the registry says it stored.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import email.utils
import hashlib
import ipaddress
import json
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Literal, NamedTuple, Self

import httpx

import uvdock
from uvdock.errors import UvdockError
from uvdock.oci.auth import DOCKER_HUB, Credentials, canonical_host, find_credentials
from uvdock.oci.model import BlobSizeError

__all__ = [
    "DEFAULT_CHUNK_THRESHOLD",
    "MANIFEST_MEDIA_TYPES",
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

_LOG = logging.getLogger(__name__)

MANIFEST_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
"""What ``get_manifest`` accepts by default: OCI and Docker schema2, indexes and images."""

MAX_MANIFEST_SIZE = 4 * 1024 * 1024
"""The distribution spec's floor for what registries accept; larger manifests are refused."""

DEFAULT_CHUNK_THRESHOLD = 16 * 1024 * 1024
"""Blobs up to this size go up in one PUT; larger ones in PATCH chunks of ``chunk_size``."""

_BLOCK = 1024 * 1024
_OCTET_STREAM = "application/octet-stream"
_HTTPS_PORT_ANSWER = re.compile(r"HTTPS|TLS", re.IGNORECASE)

PushOutcome = Literal["present", "mounted", "uploaded"]
"""What ``push_blob`` did: found the blob there, mounted it from another repository, uploaded it."""


class RegistryError(UvdockError):
    """A registry refused or failed a request."""


class RegistryUnreachableError(RegistryError):
    """The registry did not answer (connection refused, DNS, TLS, timeouts)."""


class RegistryAuthError(RegistryError):
    """The registry asked for credentials, refused them, or denied the operation."""


class ManifestNotFoundError(RegistryError):
    """No manifest under that repository and tag or digest."""


class BlobNotFoundError(RegistryError):
    """No blob with that digest in the repository."""


class DigestMismatchError(RegistryError):
    """Content did not hash to the digest it was asked for or announced under."""


# --- image references ------------------------------------------------------------------------

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
    host = canonical_host(host) if canonical_host(host) == DOCKER_HUB else host
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


def _is_digest(digest: str) -> bool:
    """Whether this client can verify ``digest`` (sha256/384/512, lowercase hex)."""
    algorithm, _, hexdigest = digest.partition(":")
    return (
        _DIGEST.fullmatch(digest) is not None
        and _HASHES.get(algorithm) == len(hexdigest)
        and re.fullmatch(r"[0-9a-f]+", hexdigest) is not None
    )


def _check_digest(digest: str, *, what: str) -> tuple[str, str]:
    """``(algorithm, hex)`` of a digest this client can verify, else an error naming ``what``."""
    if not _is_digest(digest):
        raise UvdockError(
            f"{what}: {digest!r} is not a supported digest",
            hint="digests look like sha256:<64 lowercase hex digits>",
        )
    algorithm, _, hexdigest = digest.partition(":")
    return algorithm, hexdigest


def _digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def _hostname(host: str) -> str:
    """The name or address in ``host[:port]`` (brackets dropped from IPv6)."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def is_loopback(host: str) -> bool:
    """Whether ``host[:port]`` is ``localhost``, in 127.0.0.0/8 or ``::1``: Docker's default insecure registries."""  # noqa: E501
    name = _hostname(host).lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_private_address(host: str) -> bool:
    try:
        address = ipaddress.ip_address(_hostname(host))
    except ValueError:
        return _hostname(host).lower() == "localhost"
    return address.is_private or address.is_loopback or address.is_link_local


# --- WWW-Authenticate ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header: ``scheme`` is lowercase."""

    scheme: str
    params: Mapping[str, str]

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


_TOKEN_CHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # noqa: S105 - RFC 9110 tchar, not a secret
_SCHEME_RE = re.compile(rf"\s*({_TOKEN_CHARS})")
_PARAM_RE = re.compile(rf'\s*({_TOKEN_CHARS})\s*=\s*("(?:[^"\\]|\\.)*"|{_TOKEN_CHARS}=*)\s*(?:,|$)')


def parse_challenges(header: str) -> list[Challenge]:
    """The challenges in a ``WWW-Authenticate`` value (RFC 9110 section 11.6.1).

    ``Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull"``
    gives one challenge with three parameters; ``Basic realm="x", Bearer realm="y"``
    gives two.
    """
    challenges: list[Challenge] = []
    position = 0
    while position < len(header):
        while position < len(header) and header[position] in " \t,":
            position += 1
        scheme = _SCHEME_RE.match(header, position)
        if scheme is None:
            break
        position = scheme.end()
        params: dict[str, str] = {}
        while True:
            param = _PARAM_RE.match(header, position)
            if param is None:
                break
            value = param.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[param.group(1).lower()] = value
            position = param.end()
        challenges.append(Challenge(scheme=scheme.group(1).lower(), params=params))
        if scheme.end() == position and position < len(header) and header[position] not in " \t,":
            break  # neither a parameter nor a new scheme: stop rather than loop
    return challenges


def _pick_challenge(header: str) -> Challenge | None:
    by_scheme = {challenge.scheme: challenge for challenge in parse_challenges(header)}
    return by_scheme.get("bearer") or by_scheme.get("basic")


def _scope_actions(scopes: Sequence[str]) -> frozenset[tuple[str, str]]:
    """``repository:a:push,pull`` → {(repository:a, push), (repository:a, pull)}."""
    actions: set[tuple[str, str]] = set()
    for scope in scopes:
        for part in scope.split():
            resource, _, names = part.rpartition(":")
            actions.update((resource, name) for name in names.split(",") if name)
    return frozenset(actions)


def _pull(repository: str) -> str:
    return f"repository:{repository}:pull"


def _push(repository: str) -> str:
    return f"repository:{repository}:push,pull"


# --- the client ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Token:
    realm: str
    service: str
    actions: frozenset[tuple[str, str]]
    value: str
    expires_at: float


class _TransientError(Exception):
    """A step of an upload session failed in a way worth a fresh session."""

    def __init__(self, final: RegistryError, retry_after: float | None = None) -> None:
        super().__init__(final.message)
        self.final = final
        self.retry_after = retry_after


CredentialSource = Callable[[str], Credentials | None]
"""Where a client gets credentials for its host: ``find_credentials``, or a test's function."""
_Body = bytes | Callable[[], Iterator[bytes]] | None


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
        self.host = canonical_host(host) if canonical_host(host) == DOCKER_HUB else host
        # Docker Hub's API lives on another name than its references use.
        self._api_host = "registry-1.docker.io" if self.host == DOCKER_HUB else self.host
        plain = is_loopback(self.host) if insecure is None else insecure
        self._scheme = "http" if plain else "https"
        self._insecure = plain
        # Plain HTTP needs no TLS context (loading the CAs takes 50 ms); an insecure
        # registry that turns out to speak HTTPS is used unverified anyway.
        verify: ssl.SSLContext | bool = True
        if plain:  # httpx's verify=False still loads the system CAs: a bare context does not
            verify = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            verify.check_hostname = False
            verify.verify_mode = ssl.CERT_NONE
        if ca_bundle is not None and not plain:
            try:
                # Added to the default trust, as Docker adds certs.d/HOST/ca.crt to the
                # system's: one private registry's CA must not break public registries.
                verify = httpx.create_ssl_context()
                verify.load_verify_locations(cafile=str(ca_bundle))
            except (OSError, ssl.SSLError) as err:
                raise UvdockError(
                    f"cannot use the CA bundle {ca_bundle}: {_reason(err)}",
                    hint="point it at a PEM file of CA certificates",
                ) from err
        self._credential_source = credentials
        self._retries = max(0, retries)
        self._backoff = backoff
        self._max_wait = max_wait
        self._chunk_threshold = chunk_threshold
        self._chunk_size = max(1, chunk_size)
        self._sleep = sleep
        self._clock = clock
        self._transport = transport
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 15.0))
        self._http = self._new_client(verify=verify)
        self._lock = threading.RLock()
        self._pinged = False
        self._challenge: Challenge | None = None
        self._credentials: Credentials | None = None
        self._credentials_known = False
        self._tokens: list[_Token] = []

    def _new_client(self, *, verify: ssl.SSLContext | bool) -> httpx.Client:
        return httpx.Client(
            transport=self._transport,
            verify=verify,
            timeout=self._timeout,
            headers={"User-Agent": f"uvdock/{uvdock.__version__}"},
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def base_url(self) -> str:
        """``scheme://host`` of the registry's API (known for sure after the first request)."""
        return f"{self._scheme}://{self._api_host}"

    # --- public operations -------------------------------------------------------------------

    def get_manifest(
        self, repository: str, reference: str, *, accept: Sequence[str] = MANIFEST_MEDIA_TYPES
    ) -> tuple[bytes, str, str]:
        """``(body, media type, digest)`` of the manifest or index at a tag or digest.

        A digest reference is verified against the body; a tag's digest is
        computed from the body (registries are not reliable about the
        ``Docker-Content-Digest`` header for tags, ggcr notes).
        """
        name = ImageReference(self.host, repository, reference)
        expected = _check_digest(reference, what=str(name)) if ":" in reference else None
        path = f"/v2/{repository}/manifests/{reference}"
        headers = {"Accept": ", ".join(accept)}
        action = f"pulling manifest {name}"
        scopes = (_pull(repository),)
        with self._open("GET", path, scopes=scopes, headers=headers, action=action) as response:
            if response.status_code == httpx.codes.NOT_FOUND:
                detail = _error_detail(response, read=True) or "manifest unknown"
                raise ManifestNotFoundError(
                    f"{name} not found ({detail})",
                    hint=f"check the repository and tag; `skopeo list-tags docker://{self.host}/"
                    f"{repository}` lists the tags",
                )
            self._expect(response, (httpx.codes.OK,), action=action)
            body = _read_limited(response, MAX_MANIFEST_SIZE, what=str(name))
        content_type = response.headers.get("content-type", "").split(";", 1)[0].strip()
        media_type = content_type if content_type in MANIFEST_MEDIA_TYPES else ""
        if not media_type:
            with contextlib.suppress(ValueError, AttributeError):
                media_type = str(json.loads(body).get("mediaType") or "")
        media_type = media_type or content_type
        if expected is not None:
            algorithm, _ = expected
            actual = _digest_of(body, algorithm)
            if actual != reference:
                raise DigestMismatchError(
                    f"{name}: the registry sent a manifest whose digest is {actual}",
                    hint="the registry or a proxy altered it; do not use this image",
                )
            return body, media_type, reference
        return body, media_type, _digest_of(body)

    def head_blob(self, repository: str, digest: str) -> bool:
        """Whether the repository has the blob (HEAD ``/v2/<repo>/blobs/<digest>``)."""
        _check_digest(digest, what=f"blob in {self.host}/{repository}")
        return self._head_blob(repository, digest, scopes=(_pull(repository),))

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
        algorithm, expected = _check_digest(digest, what=f"blob in {where}")
        start = dest.tell() if dest.seekable() else 0
        hasher = hashlib.new(algorithm)
        written = 0
        failures = 0
        path = f"/v2/{repository}/blobs/{digest}"
        action = f"pulling blob {digest} from {self.host}/{repository}"
        while True:
            headers = {"Range": f"bytes={written}-"} if written else {}
            with self._open(
                "GET", path, scopes=(_pull(repository),), headers=headers, action=action
            ) as response:
                if response.status_code == httpx.codes.NOT_FOUND:
                    raise BlobNotFoundError(
                        f"blob {digest} not found in {self.host}/{repository}",
                        hint="the image refers to a blob the registry does not have; "
                        "push the image again",
                    )
                self._expect(response, (httpx.codes.OK, httpx.codes.PARTIAL_CONTENT), action=action)
                resumed = response.headers.get("content-range", "").startswith(f"bytes {written}-")
                if written and not (
                    response.status_code == httpx.codes.PARTIAL_CONTENT and resumed
                ):
                    if not dest.seekable():
                        raise self._unreachable(action, "connection lost; cannot resume")
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
                    if failures > self._retries:
                        raise self._unreachable(action, _reason(err)) from err
                    _LOG.debug("%s: %s; resuming at byte %d", action, _reason(err), written)
                    self._sleep(self._wait(failures, None))
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
        _check_digest(digest, what=f"blob for {self.host}/{repository}")
        scopes: tuple[str, ...] = (_push(repository),)
        if mount_from and mount_from != repository:
            scopes = (_push(repository), _pull(mount_from))
        failures = 0
        while True:
            try:
                if self._head_blob(repository, digest, scopes=scopes):
                    return "present"
                return self._upload(
                    repository, digest, size, open_fn, mount_from=mount_from, scopes=scopes
                )
            except _TransientError as err:
                failures += 1
                if failures > self._retries:
                    raise err.final from err
                _LOG.debug("%s; starting the upload again", err.final.message)
                self._sleep(self._wait(failures, err.retry_after))

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """PUT a manifest or index under a tag or digest; its digest.

        ``media_type`` is sent as ``Content-Type`` and must equal the body's
        ``mediaType`` when it has one. Push what it refers to first (blobs,
        then child manifests by digest, then the index by tag).
        """
        name = ImageReference(self.host, repository, reference)
        digest = _digest_of(body)
        if ":" in reference:
            algorithm, _ = _check_digest(reference, what=str(name))
            if _digest_of(body, algorithm) != reference:
                raise DigestMismatchError(
                    f"{name}: the manifest's digest is {_digest_of(body, algorithm)}",
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
        response = self._request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            scopes=(_push(repository),),
            headers={"Content-Type": media_type},
            body=body,
            action=action,
        )
        if _error_code(response) in {"MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN"}:
            raise RegistryError(
                f"{self.host} rejected {name}: {_error_detail(response)}",
                hint="push the blobs and child manifests a manifest refers to before it",
            )
        self._expect(response, (httpx.codes.CREATED, httpx.codes.OK), action=action)
        stored = response.headers.get("docker-content-digest")
        if stored and stored.startswith(digest.split(":", 1)[0] + ":") and stored != digest:
            raise DigestMismatchError(
                f"{self.host} stored {name} as {stored}, not {digest}",
                hint="the registry rewrote the manifest; it does not keep manifests byte for byte",
            )
        return digest

    # --- uploads -----------------------------------------------------------------------------

    def _head_blob(self, repository: str, digest: str, *, scopes: tuple[str, ...]) -> bool:
        action = f"checking blob {digest} in {self.host}/{repository}"
        response = self._request(
            "HEAD", f"/v2/{repository}/blobs/{digest}", scopes=scopes, action=action
        )
        if response.status_code == httpx.codes.NOT_FOUND:
            return False
        self._expect(response, (httpx.codes.OK,), action=action)
        return True

    def _upload(
        self,
        repository: str,
        digest: str,
        size: int,
        open_fn: Callable[[], BinaryIO],
        *,
        mount_from: str | None,
        scopes: tuple[str, ...],
    ) -> PushOutcome:
        action = f"pushing blob {digest} to {self.host}/{repository}"
        uploads = f"/v2/{repository}/blobs/uploads/"
        response: httpx.Response | None = None
        if mount_from and mount_from != repository:
            with contextlib.suppress(RegistryError):
                # ggcr#1404: a failed mount is retried without it; 202 starts an upload.
                response = self._request(
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
            response = self._request(
                "POST", uploads, scopes=scopes, body=b"", action=action, session=True
            )
            self._expect(response, (httpx.codes.ACCEPTED,), action=action)
        location = self._location(response, action=action)
        if size <= self._chunk_threshold:
            final = self._request(
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
            final = self._request(
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
                response = self._request(
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
                    raise _TransientError(
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
        header = response.headers.get("location")
        if not header:
            raise RegistryError(
                f"{action} failed: {self.host} started an upload without a Location",
                hint="the registry does not follow the distribution spec",
            )
        url = response.request.url.join(header)
        here = httpx.URL(self.base_url)
        # ggcr's nextLocation: no redirects into private networks from a public registry.
        if (
            url.host != here.host
            and _is_private_address(url.netloc.decode())
            and not _is_private_address(self._api_host)
        ):
            raise RegistryError(
                f"{action} failed: {self.host} sent the upload to a private address ({url.host})",
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
        code = _error_code(response)
        if code == "DIGEST_INVALID":
            raise DigestMismatchError(
                f"{action} failed: {self.host} says the content does not hash to {digest}",
                hint="the file changed while it was pushed, or its digest is wrong; rebuild it",
            )
        if code == "BLOB_UPLOAD_UNKNOWN" or response.status_code in (
            httpx.codes.NOT_FOUND,
            httpx.codes.REQUESTED_RANGE_NOT_SATISFIABLE,
        ):
            raise _TransientError(self._status_error(response, action=action))
        self._expect(response, statuses, action=action)

    # --- requests, auth and retries ----------------------------------------------------------

    @contextlib.contextmanager
    def _open(
        self,
        method: str,
        path: str,
        *,
        scopes: tuple[str, ...],
        headers: Mapping[str, str],
        action: str,
    ) -> Iterator[httpx.Response]:
        response = self._request(
            method, path, scopes=scopes, headers=headers, action=action, stream=True
        )
        try:
            yield response
        finally:
            response.close()

    def _request(
        self,
        method: str,
        target: str | httpx.URL,
        *,
        scopes: tuple[str, ...],
        action: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: _Body = None,
        stream: bool = False,
        session: bool = False,
    ) -> httpx.Response:
        """Send with auth; retry 401 once with fresh auth, and 429/5xx/connection errors.

        ``session=True`` marks a step of an upload session: instead of being
        retried alone, a transient failure raises ``_TransientError`` so the
        whole upload starts again. Other statuses are returned to the caller.
        """
        self._ensure_pinged(action)
        url = httpx.URL(self.base_url + target) if isinstance(target, str) else target
        if params:
            url = url.copy_merge_params(params)
        needed = scopes
        reauthenticated = False
        failures = 0
        while True:
            request_headers = dict(headers or {})
            if self._is_registry(url):
                authorization = self._authorization(needed, action=action)
                if authorization:
                    request_headers["Authorization"] = authorization
            content = body() if callable(body) else body
            try:
                request = self._http.build_request(
                    method, url, headers=request_headers, content=content
                )
                response = self._http.send(
                    request, stream=True, follow_redirects=method in {"GET", "HEAD"}
                )
            except httpx.TransportError as err:
                final: RegistryError = self._unreachable(action, _reason(err))
                if _is_tls_failure(err):
                    raise final from err
                failures = self._retry_or_raise(final, failures, session=session, cause=err)
                continue
            status = response.status_code
            if status == httpx.codes.UNAUTHORIZED:
                _drain(response)
                if reauthenticated:
                    raise self._auth_error(response, action=action)
                reauthenticated = True
                needed = self._reauthenticate(response, needed, action=action)
                continue
            if _is_transient(status):
                _drain(response)
                final = self._status_error(response, action=action)
                failures = self._retry_or_raise(
                    final, failures, session=session, retry_after=_retry_after(response)
                )
                continue
            if stream:
                return response
            try:
                response.read()
            except httpx.TransportError as err:
                final = self._unreachable(action, _reason(err))
                failures = self._retry_or_raise(final, failures, session=session, cause=err)
                continue
            finally:
                response.close()
            return response

    def _retry_or_raise(
        self,
        final: RegistryError,
        failures: int,
        *,
        session: bool,
        retry_after: float | None = None,
        cause: BaseException | None = None,
    ) -> int:
        """Sleep before the next attempt and count it, or raise when out of attempts."""
        if session:
            raise _TransientError(final, retry_after) from cause
        failures += 1
        if failures > self._retries:
            raise final from cause
        _LOG.debug("%s; retry %d of %d", final.message, failures, self._retries)
        self._sleep(self._wait(failures, retry_after))
        return failures

    def _is_registry(self, url: httpx.URL) -> bool:
        """Whether ``url`` is on the registry itself (credentials go nowhere else)."""
        base = httpx.URL(self.base_url)
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)

    def _wait(self, failures: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self._max_wait, max(0.0, retry_after))
        return min(self._max_wait, self._backoff * 2.0 ** (failures - 1))

    def _ensure_pinged(self, action: str) -> None:
        """``GET /v2/`` once: learn the auth challenge (and HTTPS behind an insecure name)."""
        with self._lock:
            if self._pinged:
                return
            failures = 0
            while True:
                try:
                    response = self._http.get(self.base_url + "/v2/")
                except httpx.TransportError as err:
                    final: RegistryError = self._unreachable(action, _reason(err))
                    if _is_tls_failure(err):
                        raise final from err
                    failures = self._retry_or_raise(final, failures, session=False, cause=err)
                    continue
                status = response.status_code
                if (
                    status == httpx.codes.BAD_REQUEST
                    and self._scheme == "http"
                    and _HTTPS_PORT_ANSWER.search(response.text)
                ):
                    # An insecure registry that speaks HTTPS: Docker uses it unverified.
                    self._scheme = "https"
                    self._http.close()
                    self._http = self._new_client(verify=False)
                    continue
                if _is_transient(status):
                    final = self._status_error(response, action=action)
                    failures = self._retry_or_raise(
                        final, failures, session=False, retry_after=_retry_after(response)
                    )
                    continue
                break
            if status == httpx.codes.UNAUTHORIZED:
                self._challenge = _pick_challenge(response.headers.get("www-authenticate", ""))
            elif status == httpx.codes.NOT_FOUND:
                raise RegistryError(
                    f"{action} failed: {self.base_url} does not serve the registry API"
                    " (/v2/ answered 404)",
                    hint="check the registry host and port",
                )
            self._pinged = True

    def _get_credentials(self) -> Credentials | None:
        with self._lock:
            if not self._credentials_known:
                source = self._credential_source
                self._credentials = source(self.host) if callable(source) else source
                self._credentials_known = True
            return self._credentials

    def _authorization(self, scopes: tuple[str, ...], *, action: str) -> str | None:
        challenge = self._challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            credentials = self._get_credentials()
            if credentials is None or not credentials.username:
                return None
            pair = f"{credentials.username}:{credentials.password}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        return "Bearer " + self._token(challenge, scopes, action=action)

    def _token(self, challenge: Challenge, scopes: tuple[str, ...], *, action: str) -> str:
        wanted = _scope_actions(scopes)
        service = challenge.params.get("service", "")
        with self._lock:
            now = self._clock()
            self._tokens = [token for token in self._tokens if token.expires_at > now]
            for token in self._tokens:
                if (
                    token.realm == challenge.realm
                    and token.service == service
                    and wanted <= token.actions
                ):
                    return token.value
            token = self._fetch_token(challenge, scopes, action=action)
            self._tokens.append(token)
            return token.value

    def _fetch_token(self, challenge: Challenge, scopes: tuple[str, ...], *, action: str) -> _Token:
        realm = challenge.realm
        if not realm.startswith(("https://", "http://")):
            raise RegistryAuthError(
                f"{action} failed: {self.host} sent a Bearer challenge without a usable realm",
                hint="the registry's token service is misconfigured",
            )
        service = challenge.params.get("service", "")
        credentials = self._get_credentials()
        params: list[tuple[str, str | int | float | bool | None]] = (
            [("service", service)] if service else []
        )
        failures = 0
        while True:
            try:
                if credentials is not None and credentials.identity_token:
                    # OAuth2 refresh-token grant (distribution docs/spec/auth/oauth.md).
                    form = {
                        "grant_type": "refresh_token",
                        "refresh_token": credentials.identity_token,
                        "client_id": "uvdock",
                        "scope": " ".join(scopes),
                        **({"service": service} if service else {}),
                    }
                    response = self._http.post(realm, data=form)
                else:
                    auth = None
                    if credentials is not None and credentials.username:
                        auth = httpx.BasicAuth(credentials.username, credentials.password)
                    query = params + [("scope", scope) for scope in scopes]
                    response = self._http.get(realm, params=query, auth=auth)
            except httpx.TransportError as err:
                where = f"token service {httpx.URL(realm).host}: {_reason(err)}"
                final: RegistryError = self._unreachable(action, where)
                if _is_tls_failure(err):
                    raise final from err
                failures = self._retry_or_raise(final, failures, session=False, cause=err)
                continue
            status = response.status_code
            if _is_transient(status):
                final = self._status_error(response, action=action)
                failures = self._retry_or_raise(
                    final, failures, session=False, retry_after=_retry_after(response)
                )
                continue
            break
        if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            raise self._auth_error(response, action=action)
        self._expect(response, (httpx.codes.OK,), action=action)
        try:
            data = response.json()
            value = str(data.get("token") or data.get("access_token") or "")
            lifetime = float(data.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError):
            value, lifetime = "", 0.0
        if not value:
            raise RegistryAuthError(
                f"{action} failed: the token service of {self.host} sent no token",
                hint="the registry's token service is misconfigured",
            )
        # A token lives at least 60 s (token.md); renew 10 s early.
        expires_at = self._clock() + max(60.0, lifetime) - 10.0
        return _Token(
            realm=realm,
            service=service,
            actions=_scope_actions(scopes),
            value=value,
            expires_at=expires_at,
        )

    def _reauthenticate(
        self, response: httpx.Response, scopes: tuple[str, ...], *, action: str
    ) -> tuple[str, ...]:
        """Take the 401's challenge; drop cached tokens; the scopes to ask for now."""
        challenge = _pick_challenge(response.headers.get("www-authenticate", ""))
        if challenge is None:
            raise self._auth_error(response, action=action)
        with self._lock:
            self._challenge = challenge
            self._tokens.clear()
        extra = challenge.params.get("scope", "")
        if extra and not _scope_actions((extra,)) <= _scope_actions(scopes):
            return (*scopes, extra)
        return scopes

    # --- errors ------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        credentials = self._credentials
        for secret in credentials.secrets if credentials else ():
            text = text.replace(secret, "***")
        return text

    def _unreachable(self, action: str, reason: str) -> RegistryUnreachableError:
        if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason:
            return RegistryUnreachableError(
                f"{action} failed: the TLS certificate of {self.host} is not trusted ({reason})",
                hint="pass the registry's CA bundle (uvdock build --registry-ca FILE, or"
                " SSL_CERT_FILE)",
            )
        if _is_plain_answer(reason):
            return RegistryUnreachableError(
                f"{action} failed: {self.host} did not answer in TLS, it may be a plain-HTTP"
                f" registry ({reason})",
                hint="a plain-HTTP registry off loopback must be marked insecure (uvdock build"
                f" --insecure-registry {self.host}), on a network you trust",
            )
        insecure = (
            "" if self._insecure else "; a plain-HTTP registry off loopback must be marked insecure"
        )
        return RegistryUnreachableError(
            self._scrub(f"{action} failed: cannot reach the registry at {self.base_url}: {reason}"),
            hint=f"check the host and port, that the registry is running, and proxy settings"
            f" (HTTPS_PROXY, NO_PROXY){insecure}",
        )

    def _auth_error(self, response: httpx.Response, *, action: str) -> RegistryAuthError:
        credentials = self._credentials
        detail = _error_detail(response)
        detail = f" ({self._scrub(detail)})" if detail else ""
        login = f"run `docker login {self.host}`"
        if response.status_code == httpx.codes.FORBIDDEN:
            user = f" as {credentials.username}" if credentials and credentials.username else ""
            return RegistryAuthError(
                f"{action} failed: {self.host} denied access{user}{detail}",
                hint=f"check the repository name and your rights to it; {login} with an account"
                " that has them",
            )
        if credentials is None:
            return RegistryAuthError(
                f"{action} failed: {self.host} asks for credentials and none were found{detail}",
                hint=f"{login} (uvdock reads Docker's and podman's credential stores)",
            )
        return RegistryAuthError(
            f"{action} failed: {self.host} refused the credentials from {credentials.source}"
            f"{detail}",
            hint=f"{login} again, and check the repository name and your rights to it",
        )

    def _status_error(self, response: httpx.Response, *, action: str) -> RegistryError:
        status = response.status_code
        detail = _error_detail(response)
        detail = f": {self._scrub(detail)}" if detail else ""
        message = f"{action} failed: {self.host} answered {status} {response.reason_phrase}{detail}"
        if status == httpx.codes.TOO_MANY_REQUESTS:
            hint = "the registry is rate-limiting; wait and try again"
            if self.host == DOCKER_HUB:
                hint += " (logged-in Docker Hub users get higher pull limits: `docker login`)"
            return RegistryError(message, hint=hint)
        if status >= httpx.codes.INTERNAL_SERVER_ERROR:
            return RegistryError(message, hint="the registry is having trouble; try again later")
        if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            return self._auth_error(response, action=action)
        return RegistryError(message, hint="check the image name and the registry")

    def _expect(self, response: httpx.Response, statuses: Sequence[int], *, action: str) -> None:
        if response.status_code not in statuses:
            if not response.is_closed:
                with contextlib.suppress(httpx.HTTPError):
                    response.read()
            raise self._status_error(response, action=action)


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


def _error_json(response: httpx.Response) -> list[Mapping[str, object]]:
    try:
        data = json.loads(response.content)
    except (ValueError, httpx.ResponseNotRead):
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    return (
        [error for error in errors if isinstance(error, dict)] if isinstance(errors, list) else []
    )


def _error_code(response: httpx.Response) -> str:
    errors = _error_json(response)
    return str(errors[0].get("code") or "") if errors else ""


def _error_detail(response: httpx.Response, *, read: bool = False) -> str:
    """The registry's first error (``CODE: message``) on one short line, if it sent one."""
    if read:
        with contextlib.suppress(httpx.HTTPError):
            response.read()
    errors = _error_json(response)
    if not errors:
        return ""
    code = str(errors[0].get("code") or "")
    message = str(errors[0].get("message") or "")
    text = f"{code}: {message}" if code and message else code or message
    return " ".join(text.split())[:200]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _is_transient(status: int) -> bool:
    return status == httpx.codes.TOO_MANY_REQUESTS or status >= httpx.codes.INTERNAL_SERVER_ERROR


def _drain(response: httpx.Response) -> None:
    with contextlib.suppress(httpx.HTTPError):
        response.read()
    response.close()


def _reason(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return " ".join(text.split())[:200]


def _is_tls_failure(err: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        current = current.__cause__ or current.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(err) or _is_plain_answer(str(err))


def _is_plain_answer(reason: str) -> bool:
    """Whether a TLS handshake failed on an answer that is not TLS (e.g. plain HTTP)."""
    return "WRONG_VERSION_NUMBER" in reason or "wrong version number" in reason
