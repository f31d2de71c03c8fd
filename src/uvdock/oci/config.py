"""The image config's run-time part, from ``plan.runtime``: what a Dockerfile's ENV,
WORKDIR, USER, EXPOSE, HEALTHCHECK, LABEL and CMD would set over the base.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from uvdock.oci.documents import History, build_config, config_env
from uvdock.oci.model import JSONObject, Platform
from uvdock.plan.model import Runtime

__all__ = ["image_config", "runtime_env"]

SECOND_NS = 1_000_000_000
# A base image that sets no PATH runs with this one.
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def runtime_env(runtime: Runtime, base_config: Mapping[str, Any]) -> dict[str, str]:
    """The variables the image sets over the base's: ``$PATH`` in uvdock's is the base's."""
    base_path = config_env(base_config).get("PATH", DEFAULT_PATH)
    env: dict[str, str] = {}
    for var in runtime.env:
        env[var.name] = var.value if var.literal else var.value.replace("$PATH", base_path)
    return env


def image_config(
    runtime: Runtime,
    base_config: Mapping[str, Any],
    *,
    diff_ids: Sequence[str],
    history: Sequence[History],
    created: str,
    platform: Platform,
) -> JSONObject:
    """The base's config with uvdock's layers appended and ``runtime`` applied.

    The entrypoint is cleared and the command set (a base's ``["python3"]``
    must not run); ports and a health check replace the base's when the
    runtime has them, as EXPOSE and HEALTHCHECK in the final stage would.
    """
    config = build_config(
        base_config,
        diff_ids=diff_ids,
        history=history,
        created=created,
        platform=platform,
        env=runtime_env(runtime, base_config),
        user=runtime.user,
        working_dir=runtime.workdir,
        entrypoint=[],
        cmd=list(runtime.command or ()),
        labels=dict(runtime.labels),
    )
    run = config.setdefault("config", {})
    if runtime.ports:
        run["ExposedPorts"] = {f"{port}/tcp": {} for port in runtime.ports}
    health = runtime.health
    if health is not None:
        run["Healthcheck"] = {
            "Test": ["CMD", *health.argv],
            "Interval": health.interval * SECOND_NS,
            "Timeout": health.timeout * SECOND_NS,
            "StartPeriod": health.start_period * SECOND_NS,
            "Retries": health.retries,
        }
    return config
