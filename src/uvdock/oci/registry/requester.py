"""One request to the registry's API, sent the way every step needs it sent.

The first request pings ``GET /v2/`` to learn the auth challenge (and HTTPS
behind an insecure name); every request carries the handshake's
``Authorization`` (only to the registry's own host), is sent again once with
fresh auth on a 401, and is retried with backoff on 429, 5xx and connection
errors. An untrusted certificate, or a plain-HTTP answer to HTTPS, is one clear
error, not retried.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping

import httpx

from uvdock.oci.registry.errors import ErrorMapper, RegistryError, is_tls_failure, reason_of
from uvdock.oci.registry.handshake import Handshake
from uvdock.oci.registry.transport import Transport, drain, is_transient, retry_after

__all__ = ["Body", "Requester"]

Body = bytes | Callable[[], Iterator[bytes]] | None
"""A request's content: bytes, or a function giving it afresh for each attempt."""


class Requester:
    """Sends requests to one registry with auth and retries; what the client's steps use."""

    def __init__(
        self,
        *,
        transport: Transport,
        errors: ErrorMapper,
        handshake: Handshake,
        lock: threading.RLock,
    ) -> None:
        self._transport = transport
        self._retry = transport.retry
        self._errors = errors
        self._handshake = handshake
        self._lock = lock
        self._pinged = False

    @contextlib.contextmanager
    def open(
        self,
        method: str,
        path: str,
        *,
        scopes: tuple[str, ...],
        headers: Mapping[str, str],
        action: str,
    ) -> Iterator[httpx.Response]:
        """The response with its body unread, closed on leaving the block."""
        response = self.request(
            method, path, scopes=scopes, headers=headers, action=action, stream=True
        )
        try:
            yield response
        finally:
            response.close()

    def request(
        self,
        method: str,
        target: str | httpx.URL,
        *,
        scopes: tuple[str, ...],
        action: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: Body = None,
        stream: bool = False,
        session: bool = False,
    ) -> httpx.Response:
        """Send with auth; retry 401 once with fresh auth, and 429/5xx/connection errors.

        ``session=True`` marks a step of an upload session: instead of being
        retried alone, a transient failure raises ``TransientError`` so the
        whole upload starts again. Other statuses are returned to the caller.
        """
        self._ensure_pinged(action)
        transport = self._transport
        url = httpx.URL(transport.base_url + target) if isinstance(target, str) else target
        if params:
            url = url.copy_merge_params(params)
        needed = scopes
        reauthenticated = False
        failures = 0
        while True:
            request_headers = dict(headers or {})
            if transport.is_registry(url):
                authorization = self._handshake.authorization(needed, action=action)
                if authorization:
                    request_headers["Authorization"] = authorization
            content = body() if callable(body) else body
            try:
                request = transport.http.build_request(
                    method, url, headers=request_headers, content=content
                )
                response = transport.http.send(
                    request, stream=True, follow_redirects=method in {"GET", "HEAD"}
                )
            except httpx.TransportError as err:
                final: RegistryError = self._errors.unreachable(action, reason_of(err))
                if is_tls_failure(err):
                    raise final from err
                failures = self._retry.retry_or_raise(final, failures, session=session, cause=err)
                continue
            status = response.status_code
            if status == httpx.codes.UNAUTHORIZED:
                drain(response)
                if reauthenticated:
                    raise self._errors.auth_error(response, action=action)
                reauthenticated = True
                needed = self._handshake.reauthenticate(response, needed, action=action)
                continue
            if is_transient(status):
                drain(response)
                final = self._errors.status_error(response, action=action)
                failures = self._retry.retry_or_raise(
                    final, failures, session=session, retry_after=retry_after(response)
                )
                continue
            if stream:
                return response
            try:
                response.read()
            except httpx.TransportError as err:
                final = self._errors.unreachable(action, reason_of(err))
                failures = self._retry.retry_or_raise(final, failures, session=session, cause=err)
                continue
            finally:
                response.close()
            return response

    def _ensure_pinged(self, action: str) -> None:
        """``GET /v2/`` once: learn the auth challenge (and HTTPS behind an insecure name)."""
        with self._lock:
            if self._pinged:
                return
            transport = self._transport
            response = transport.send_retrying(
                lambda: transport.http.get(transport.base_url + "/v2/"),
                errors=self._errors,
                action=action,
                upgrade=True,
            )
            status = response.status_code
            if status == httpx.codes.UNAUTHORIZED:
                self._handshake.learn(response)
            elif status == httpx.codes.NOT_FOUND:
                raise RegistryError(
                    f"{action} failed: {transport.base_url} does not serve the registry API"
                    " (/v2/ answered 404)",
                    hint="check the registry host and port",
                )
            self._pinged = True
