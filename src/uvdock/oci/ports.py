"""What the daemonless engine asks of the outside world, narrowed to what it calls.

The engine takes a registry client per host (``client_for``) and a process
runner (``uvdock._proc.Runner``); tests pass fakes of either. ``Registry`` is
the part of :class:`uvdock.oci.registry.RegistryClient` the engine uses, as
ggcr's ``daemon.Client`` is the part of Docker's client that ``daemon`` uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO, Protocol

__all__ = ["ClientFor", "Event", "Registry"]

Event = Callable[[str], None]  # one line of progress for the user


class Registry(Protocol):
    """A registry client bound to one host."""

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str, str]:
        """``(body, media type, digest)`` of the manifest or index at a tag or digest."""
        ...

    def get_blob(
        self, repository: str, digest: str, dest: BinaryIO, *, size: int | None = None
    ) -> int:
        """Stream a blob into ``dest`` (verified); the number of bytes written."""
        ...

    def push_blob(
        self,
        repository: str,
        digest: str,
        size: int,
        open_fn: Callable[[], BinaryIO],
        *,
        mount_from: str | None = None,
    ) -> object:
        """Upload a blob unless the registry has it (or can mount it from ``mount_from``)."""
        ...

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """PUT a manifest or index under a tag or digest; its digest."""
        ...


ClientFor = Callable[[str], Registry]  # host -> its client, made when first needed
