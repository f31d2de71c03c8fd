"""The :class:`~uvdock.builders.request.Builder` for ``--engine oci``: no daemon, no emulation.

It maps the request to the daemonless engine's own (:mod:`uvdock.oci.engine`),
gives the engine one registry client per host (plain HTTP on loopback and on
the hosts marked insecure, verified TLS elsewhere, as Docker does), and closes
them after the build. The engine and httpx are imported only when a build
asks for them: a warm rebuild to a local output talks to no registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from uvdock.builders.request import (
    BuildRequest,
    DockerArchive,
    OciLayout,
    Push,
    uv_binary,
)
from uvdock.plan.model import BuildPlan

if TYPE_CHECKING:
    from uvdock.oci.engine import OciResult
    from uvdock.oci.ports import Registry
    from uvdock.oci.progress import TaskFactory
    from uvdock.oci.registry import RegistryClient


class DaemonlessBuilder:
    def __init__(
        self,
        *,
        on_event: Callable[[str], None],
        tasks: TaskFactory | None = None,
        uv: str | None = None,
    ) -> None:
        self._on_event = on_event
        self._tasks = tasks
        self._uv = uv

    def build(self, plan: BuildPlan, request: BuildRequest) -> OciResult:
        from uvdock.oci.engine import OciRequest, Output, build_oci  # noqa: PLC0415
        from uvdock.oci.progress import no_tasks  # noqa: PLC0415

        output: Output = "load"
        dest = None
        if isinstance(request.output, Push):
            output = "push"
        elif isinstance(request.output, OciLayout):
            output, dest = "oci", request.output.dest
        elif isinstance(request.output, DockerArchive):
            output, dest = "docker", request.output.dest
        engine_request = OciRequest(
            tag=request.tag,
            platforms=request.platforms,
            output=output,
            dest=dest,
            source_date_epoch=request.source_date_epoch or 0,
            uv=self._uv or uv_binary(),
            pull=request.pull,
            bytecode=request.bytecode,
        )
        clients: dict[str, RegistryClient] = {}

        def client_for(host: str) -> Registry:
            from uvdock.oci.registry import RegistryClient  # noqa: PLC0415

            if host not in clients:
                marked = True if host.lower() in request.insecure_registries else None
                clients[host] = RegistryClient(host, ca_bundle=request.registry_ca, insecure=marked)
            return clients[host]

        try:
            return build_oci(
                plan,
                engine_request,
                on_event=self._on_event,
                client_for=client_for,
                tasks=self._tasks or no_tasks,
            )
        finally:
            for client in clients.values():
                client.close()
