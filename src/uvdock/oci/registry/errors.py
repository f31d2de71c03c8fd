"""Registry errors: the exception classes, and a failed response or connection mapped to one.

Every message names the action that failed and the registry, and carries a
hint saying what to do next; the credentials' secrets are scrubbed from any
text the registry sent back.
"""

from __future__ import annotations

import contextlib
import json
import ssl
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import httpx

from uvdock.errors import UvdockError
from uvdock.oci.auth import DOCKER_HUB, Credentials

__all__ = [
    "BlobNotFoundError",
    "DigestMismatchError",
    "Endpoint",
    "ErrorMapper",
    "ManifestNotFoundError",
    "RegistryAuthError",
    "RegistryError",
    "RegistryUnreachableError",
    "TransientError",
    "error_code",
    "error_detail",
    "is_tls_failure",
    "reason_of",
]


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


class TransientError(Exception):
    """A step of an upload session failed in a way worth a fresh session."""

    def __init__(self, final: RegistryError, retry_after: float | None = None) -> None:
        super().__init__(final.message)
        self.final = final
        self.retry_after = retry_after


class Endpoint(Protocol):
    """The registry as messages name it: its host, its API's URL, whether it is marked insecure."""

    @property
    def host(self) -> str: ...

    @property
    def base_url(self) -> str: ...

    @property
    def insecure(self) -> bool: ...


class ErrorMapper:
    """Turns failures on one registry into ``RegistryError``s with hints, secrets scrubbed.

    ``credentials`` gives the credentials known so far (without asking their
    source): their secrets never appear in a message.
    """

    def __init__(
        self, endpoint: Endpoint, *, credentials: Callable[[], Credentials | None]
    ) -> None:
        self._endpoint = endpoint
        self._credentials = credentials

    def scrub(self, text: str) -> str:
        credentials = self._credentials()
        for secret in credentials.secrets if credentials else ():
            text = text.replace(secret, "***")
        return text

    def unreachable(self, action: str, reason: str) -> RegistryUnreachableError:
        host = self._endpoint.host
        if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason:
            return RegistryUnreachableError(
                f"{action} failed: the TLS certificate of {host} is not trusted ({reason})",
                hint="pass the registry's CA bundle (uvdock build --registry-ca FILE, or"
                " SSL_CERT_FILE)",
            )
        if _is_plain_answer(reason):
            return RegistryUnreachableError(
                f"{action} failed: {host} did not answer in TLS, it may be a plain-HTTP"
                f" registry ({reason})",
                hint="a plain-HTTP registry off loopback must be marked insecure (uvdock build"
                f" --insecure-registry {host}), on a network you trust",
            )
        insecure = (
            ""
            if self._endpoint.insecure
            else "; a plain-HTTP registry off loopback must be marked insecure"
        )
        base_url = self._endpoint.base_url
        return RegistryUnreachableError(
            self.scrub(f"{action} failed: cannot reach the registry at {base_url}: {reason}"),
            hint=f"check the host and port, that the registry is running, and proxy settings"
            f" (HTTPS_PROXY, NO_PROXY){insecure}",
        )

    def auth_error(self, response: httpx.Response, *, action: str) -> RegistryAuthError:
        host = self._endpoint.host
        credentials = self._credentials()
        detail = error_detail(response)
        detail = f" ({self.scrub(detail)})" if detail else ""
        login = f"run `docker login {host}`"
        if response.status_code == httpx.codes.FORBIDDEN:
            user = f" as {credentials.username}" if credentials and credentials.username else ""
            return RegistryAuthError(
                f"{action} failed: {host} denied access{user}{detail}",
                hint=f"check the repository name and your rights to it; {login} with an account"
                " that has them",
            )
        if credentials is None:
            return RegistryAuthError(
                f"{action} failed: {host} asks for credentials and none were found{detail}",
                hint=f"{login} (uvdock reads Docker's and podman's credential stores)",
            )
        return RegistryAuthError(
            f"{action} failed: {host} refused the credentials from {credentials.source}{detail}",
            hint=f"{login} again, and check the repository name and your rights to it",
        )

    def status_error(self, response: httpx.Response, *, action: str) -> RegistryError:
        host = self._endpoint.host
        status = response.status_code
        detail = error_detail(response)
        detail = f": {self.scrub(detail)}" if detail else ""
        message = f"{action} failed: {host} answered {status} {response.reason_phrase}{detail}"
        if status == httpx.codes.TOO_MANY_REQUESTS:
            hint = "the registry is rate-limiting; wait and try again"
            if host == DOCKER_HUB:
                hint += " (logged-in Docker Hub users get higher pull limits: `docker login`)"
            return RegistryError(message, hint=hint)
        if status >= httpx.codes.INTERNAL_SERVER_ERROR:
            return RegistryError(message, hint="the registry is having trouble; try again later")
        if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            return self.auth_error(response, action=action)
        return RegistryError(message, hint="check the image name and the registry")

    def expect(self, response: httpx.Response, statuses: Sequence[int], *, action: str) -> None:
        """Raise the status's error unless the response has one of ``statuses``."""
        if response.status_code not in statuses:
            if not response.is_closed:
                with contextlib.suppress(httpx.HTTPError):
                    response.read()
            raise self.status_error(response, action=action)


# --- reading what the registry said ----------------------------------------------------------


def _error_json(response: httpx.Response) -> list[Mapping[str, object]]:
    try:
        data = json.loads(response.content)
    except (ValueError, httpx.ResponseNotRead):
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    return (
        [error for error in errors if isinstance(error, dict)] if isinstance(errors, list) else []
    )


def error_code(response: httpx.Response) -> str:
    """The code of the registry's first error (``BLOB_UNKNOWN``), if it sent one."""
    errors = _error_json(response)
    return str(errors[0].get("code") or "") if errors else ""


def error_detail(response: httpx.Response, *, read: bool = False) -> str:
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


def reason_of(err: BaseException) -> str:
    """An exception's text on one short line."""
    text = str(err).strip() or type(err).__name__
    return " ".join(text.split())[:200]


def is_tls_failure(err: BaseException) -> bool:
    """Whether a connection failed on TLS (untrusted certificate, a plain answer): not retried."""
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
