"""A fault-injecting HTTP proxy in front of a real registry.

Used by the registry client's tests and the daemonless engine's push tests to
produce failures a real registry does not produce on demand (5xx, 429,
dropped connections, a registry that goes away at a chosen request);
everything else is forwarded to the test bed's registry (127.0.0.1:5000) or
to ``upstream``.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.integration.docker import REGISTRY

Fault = Callable[[str, str], "tuple[str, int] | None"]
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-connection", "content-length"}  # fmt: skip


class FaultProxy(ThreadingHTTPServer):
    """Forwards to the real registry, except where ``fault(method, path)`` says otherwise.

    A fault is ``("status", code)`` (answer that status), ``("drop-request", 0)``
    (read half the request body, then close the connection),
    ``("drop-response", 0)`` (forward, then send half the body and close),
    ``("endless", n)`` (answer 200 and send zeros until the client hangs up:
    a hostile registry; with ``n`` > 0 it first declares ``Content-Length: n``,
    without it the body runs until the connection closes) or
    ``("stop", 0)`` (close the connection and stop listening: the fault
    function stopped the registry, and now nothing answers at this address).
    ``endless_sent`` counts the bytes the endless answers got out.
    When the upstream registry does not answer, the connection is closed
    without a response, as a registry that died would.
    """

    daemon_threads = True

    def __init__(self, fault: Fault, *, upstream: str = REGISTRY) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.fault = fault
        self.upstream = upstream
        self.log: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self.endless_sent = 0

    def stop_listening(self) -> None:
        """Close the listening socket (from a handler: in another thread, as shutdown() waits)."""

        def stop() -> None:
            self.shutdown()
            self.server_close()

        threading.Thread(target=stop, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


@contextlib.contextmanager
def serving(fault: Fault, *, upstream: str = REGISTRY) -> Iterator[FaultProxy]:
    """A running proxy, shut down at the end."""
    server = FaultProxy(fault, upstream=upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultProxy

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        del format, args

    def do_GET(self) -> None:
        self._forward()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815 - http.server's names

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        with self.server.lock:
            fault = self.server.fault(self.command, self.path)
            kind = fault[0] if fault else "forward"
            self.server.log.append((self.command, self.path, kind))
        if fault and fault[0] == "drop-request":
            self.rfile.read(length // 2)
            self._drop()
            return
        if fault and fault[0] == "stop":
            self._drop()
            self.server.stop_listening()
            return
        if fault and fault[0] == "endless":
            self._endless(declared=fault[1])
            return
        body = self.rfile.read(length)
        if fault and fault[0] == "status":
            answer = b'{"errors": [{"code": "UNAVAILABLE", "message": "injected fault"}]}'
            self.send_response(fault[1])
            self.send_header("Content-Type", "application/json")
            if fault[1] == 429:
                self.send_header("Retry-After", "1")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer)
            return
        upstream_host, upstream_port = self.server.upstream.rsplit(":", 1)
        upstream = http.client.HTTPConnection(upstream_host, int(upstream_port), timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        if length:
            headers["Content-Length"] = str(length)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
        except OSError:
            self._drop()  # the registry is gone: so is the answer
            return
        finally:
            upstream.close()
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        size = response.getheader("Content-Length") if self.command == "HEAD" else len(data)
        self.send_header("Content-Length", str(size or 0))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault and fault[0] == "drop-response":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self._drop()
            return
        self.wfile.write(data)

    def _endless(self, *, declared: int) -> None:
        """Zeros until the client hangs up (or 1 GiB: a guard for the test run itself)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if declared:
            self.send_header("Content-Length", str(declared))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = bytes(64 << 10)
        with contextlib.suppress(OSError):  # the client hung up: what a good client does
            while self.server.endless_sent < (1 << 30):
                self.wfile.write(chunk)
                with self.server.lock:
                    self.server.endless_sent += len(chunk)

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)
