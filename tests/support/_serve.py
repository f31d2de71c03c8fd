"""Helpers shared by the script entry points of the servers."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import FrameType

__all__ = ["wait_for_shutdown_signal"]


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
