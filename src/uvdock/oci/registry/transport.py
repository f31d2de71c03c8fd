"""The connection to one registry: scheme and TLS, the httpx client, timeouts, retries.

HTTPS with TLS verification (httpx's default trust, which honours
``SSL_CERT_FILE``, plus ``ca_bundle`` when given); plain HTTP for loopback
registries or ``insecure=True``, as Docker treats 127.0.0.0/8 and ::1 as
insecure, and unverified HTTPS once such a registry turns out to speak TLS.
Retries back off exponentially and honour ``Retry-After``; an untrusted
certificate, or a plain-HTTP answer to HTTPS, is one clear error, not retried.
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import logging
import re
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

import uvdock
from uvdock.errors import UvdockError
from uvdock.oci.auth import DOCKER_HUB
from uvdock.oci.registry.errors import (
    ErrorMapper,
    RegistryError,
    TransientError,
    is_tls_failure,
    reason_of,
)
from uvdock.oci.registry.reference import normalize_host

__all__ = [
    "RetryPolicy",
    "Transport",
    "drain",
    "is_loopback",
    "is_private_address",
    "is_transient",
    "retry_after",
]

_LOG = logging.getLogger(__name__)

_HTTPS_PORT_ANSWER = re.compile(r"HTTPS|TLS", re.IGNORECASE)


class Transport:
    """The httpx client for one registry, where its API is (``base_url``), how to retry.

    ``host`` is the registry as image references name it; Docker Hub's API
    lives on another name (``api_host``). ``transport`` is for tests
    (``httpx.MockTransport``).
    """

    def __init__(
        self,
        host: str,
        *,
        insecure: bool | None,
        ca_bundle: Path | None,
        timeout: float,
        transport: httpx.BaseTransport | None,
        retry: RetryPolicy,
    ) -> None:
        self.host = normalize_host(host)
        # Docker Hub's API lives on another name than its references use.
        self.api_host = "registry-1.docker.io" if self.host == DOCKER_HUB else self.host
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
                    f"cannot use the CA bundle {ca_bundle}: {reason_of(err)}",
                    hint="point it at a PEM file of CA certificates",
                ) from err
        self.retry = retry
        self._transport = transport
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 15.0))
        self.http = self._new_client(verify=verify)

    def _new_client(self, *, verify: ssl.SSLContext | bool) -> httpx.Client:
        return httpx.Client(
            transport=self._transport,
            verify=verify,
            timeout=self._timeout,
            headers={"User-Agent": f"uvdock/{uvdock.__version__}"},
        )

    @property
    def insecure(self) -> bool:
        """Whether the registry is used without TLS verification (loopback or marked so)."""
        return self._insecure

    @property
    def base_url(self) -> str:
        """``scheme://host`` of the registry's API (known for sure after the first request)."""
        return f"{self._scheme}://{self.api_host}"

    def is_registry(self, url: httpx.URL) -> bool:
        """Whether ``url`` is on the registry itself (credentials go nowhere else)."""
        base = httpx.URL(self.base_url)
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)

    def upgrade_to_https(self, response: httpx.Response) -> bool:
        """Whether a plain-HTTP answer said "use HTTPS", and the client now does, unverified.

        An insecure registry that speaks HTTPS: Docker uses it unverified.
        """
        if not (
            response.status_code == httpx.codes.BAD_REQUEST
            and self._scheme == "http"
            and _HTTPS_PORT_ANSWER.search(response.text)
        ):
            return False
        self._scheme = "https"
        self.http.close()
        self.http = self._new_client(verify=False)
        return True

    def send_retrying(
        self,
        send: Callable[[], httpx.Response],
        *,
        errors: ErrorMapper,
        action: str,
        service: str = "",
        upgrade: bool = False,
    ) -> httpx.Response:
        """The response to ``send()``, a request outside the API's auth (the ping, a token service).

        Retried on connection errors, 429 and 5xx; an untrusted certificate or
        a plain answer to TLS is raised at once. ``service`` names another host
        than the registry in messages; ``upgrade`` switches to HTTPS when a
        plain-HTTP request is answered so (``upgrade_to_https``).
        """
        failures = 0
        while True:
            try:
                response = send()
            except httpx.TransportError as err:
                where = f"{service}: {reason_of(err)}" if service else reason_of(err)
                final: RegistryError = errors.unreachable(action, where)
                if is_tls_failure(err):
                    raise final from err
                failures = self.retry.retry_or_raise(final, failures, session=False, cause=err)
                continue
            if upgrade and self.upgrade_to_https(response):
                continue
            if is_transient(response.status_code):
                final = errors.status_error(response, action=action)
                failures = self.retry.retry_or_raise(
                    final, failures, session=False, retry_after=retry_after(response)
                )
                continue
            return response

    def close(self) -> None:
        self.http.close()


class RetryPolicy:
    """How often and how long to wait before trying a failed step again."""

    def __init__(
        self, *, retries: int, backoff: float, max_wait: float, sleep: Callable[[float], None]
    ) -> None:
        self.retries = max(0, retries)
        self._backoff = backoff
        self._max_wait = max_wait
        self._sleep = sleep

    def wait(self, failures: int, retry_after: float | None) -> float:
        """Seconds to wait after the ``failures``-th failure: ``Retry-After``, else backoff."""
        if retry_after is not None:
            return min(self._max_wait, max(0.0, retry_after))
        return min(self._max_wait, self._backoff * 2.0 ** (failures - 1))

    def pause(self, failures: int, retry_after: float | None) -> None:
        self._sleep(self.wait(failures, retry_after))

    def retry_or_raise(
        self,
        final: RegistryError,
        failures: int,
        *,
        session: bool,
        retry_after: float | None = None,
        cause: BaseException | None = None,
    ) -> int:
        """Sleep before the next attempt and count it, or raise when out of attempts.

        ``session=True`` (a step of an upload session) raises ``TransientError``
        at once: the whole upload starts again instead.
        """
        if session:
            raise TransientError(final, retry_after) from cause
        failures += 1
        if failures > self.retries:
            raise final from cause
        _LOG.debug("%s; retry %d of %d", final.message, failures, self.retries)
        self.pause(failures, retry_after)
        return failures


# --- helpers ---------------------------------------------------------------------------------


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (a number or an HTTP date), if there is one."""
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


def is_transient(status: int) -> bool:
    """Whether a status is worth retrying: 429 and 5xx."""
    return status == httpx.codes.TOO_MANY_REQUESTS or status >= httpx.codes.INTERNAL_SERVER_ERROR


def drain(response: httpx.Response) -> None:
    """Read what is left of a response and close it, so its connection can be reused."""
    with contextlib.suppress(httpx.HTTPError):
        response.read()
    response.close()


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


def is_private_address(host: str) -> bool:
    """Whether ``host[:port]`` is a private, loopback or link-local address (or localhost)."""
    try:
        address = ipaddress.ip_address(_hostname(host))
    except ValueError:
        return _hostname(host).lower() == "localhost"
    return address.is_private or address.is_loopback or address.is_link_local
