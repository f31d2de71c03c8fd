"""Lifecycle shared by the fixture servers and their script entry points.

:class:`Service` turns ``start()``/``stop()`` into a context manager;
:class:`BackgroundServer` runs a ``ThreadingHTTPServer`` (made by the
subclass's :meth:`BackgroundServer._create_server`) on a daemon thread.
"""

from __future__ import annotations

import signal
import threading
from abc import ABC, abstractmethod
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING, ClassVar, Generic, Self, TypeVar

if TYPE_CHECKING:
    from types import FrameType, TracebackType

__all__ = ["BackgroundServer", "Service", "wait_for_shutdown_signal"]

ServerT = TypeVar("ServerT", bound=ThreadingHTTPServer)


class Service(ABC):
    """Something with ``start()`` and ``stop()``; as a context manager, runs inside the block."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class BackgroundServer(Service, Generic[ServerT]):
    """An HTTP server bound to ``host:port`` that serves from a daemon thread.

    Subclasses set :attr:`_label` and :attr:`_thread_name` and implement
    :meth:`_create_server`. ``port=0`` binds a free port; :attr:`port` gives it.
    """

    #: How errors name the server, e.g. ``"the git server"``.
    _label: ClassVar[str]
    #: Name of the thread that runs ``serve_forever``.
    _thread_name: ClassVar[str]

    def __init__(self, *, host: str, port: int) -> None:
        self._host = host
        self._requested_port = port
        self._server: ServerT | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def _create_server(self, address: tuple[str, int]) -> ServerT:
        """Bind and return the server for ``address`` (called by :meth:`start`)."""

    @property
    def port(self) -> int:
        """The bound port (the real one when started with ``port=0``)."""
        if self._server is not None:
            return int(self._server.server_address[1])
        return self._requested_port

    def start(self) -> None:
        if self._server is not None:
            msg = f"{self._label} is already running"
            raise RuntimeError(msg)
        try:
            server = self._create_server((self._host, self._requested_port))
        except OSError as err:
            err.add_note(
                f"could not bind {self._label} to {self._host}:{self._requested_port}; "
                "is another instance running?"
            )
            raise
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name=self._thread_name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None


def wait_for_shutdown_signal() -> int:
    """Block until SIGINT or SIGTERM arrives; return the signal number."""
    received: list[int] = []
    stop = threading.Event()

    def _handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, _handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(timeout=1.0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return received[0]
