"""Progress of the daemonless engine's long steps, independent of how it is shown.

The engine opens a *task* for each pull, install, layer and upload; the CLI
shows tasks as rich progress bars on a terminal, and nothing otherwise (the
event lines still say what happened). Byte counts come from wrapping the
streams the registry client reads and writes, so the client knows nothing
of progress.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO, Any, BinaryIO, Protocol, Self


class Task(Protocol):
    def advance(self, amount: int) -> None:
        """``amount`` more bytes (or steps) done."""

    def restart(self) -> None:
        """Back to zero (an upload or download that starts again after a failure)."""


class TaskFactory(Protocol):
    def __call__(
        self, description: str, total: int | None = None
    ) -> contextlib.AbstractContextManager[Task]:
        """A task for ``description`` (``total`` bytes, or None for a spinner), done on exit."""


class _NoTask:
    def advance(self, amount: int) -> None:
        pass

    def restart(self) -> None:
        pass


@contextlib.contextmanager
def no_tasks(description: str, total: int | None = None) -> Iterator[Task]:
    """The task factory that shows nothing."""
    del description, total
    yield _NoTask()


class CountingReader:
    """A readable stream that reports what is read from it."""

    def __init__(self, stream: IO[bytes], task: Task) -> None:
        self._stream = stream
        self._task = task

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._task.advance(len(data))
        return data

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stream.close()

    def __getattr__(self, name: str) -> Any:  # the wrapped stream's other methods
        return getattr(self._stream, name)


def counting_opener(open_fn: Callable[[], IO[bytes]], task: Task) -> Callable[[], BinaryIO]:
    """``open_fn``, its streams counted; each new opening starts the count again."""

    def opened() -> BinaryIO:
        task.restart()
        return CountingReader(open_fn(), task)  # type: ignore[return-value]  # duck-typed stream

    return opened


class CountingWriter:
    """A writable, seekable stream that reports what is written to it."""

    def __init__(self, stream: BinaryIO, task: Task) -> None:
        self._stream = stream
        self._task = task

    def write(self, data: bytes) -> int:
        written = self._stream.write(data)
        self._task.advance(written)
        return written

    def truncate(self, size: int | None = None) -> int:
        self._task.restart()  # a download that starts again
        return self._stream.truncate(size)

    def __getattr__(self, name: str) -> Any:  # the wrapped stream's other methods
        return getattr(self._stream, name)


class Phases:
    """Time spent per step of a build (summed over platforms, which run at once)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def time(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - start
