"""The Dockerfile's final stage and the daemonless engine's image config say the same.

Both come from ``plan.runtime``: the renderer prints it, ``oci.config`` maps it.
Checked per fixture project with the default (custom) approach, whose layout
the daemonless engine builds: ENV, WORKDIR, USER, EXPOSE, HEALTHCHECK, LABEL
and CMD of the final stage, read back with the Dockerfile parser, against the
config written over a stand-in base config.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.paths import PROJECTS_DIR
from uvdock.api import plan_project
from uvdock.dockerfile.line_parsers import key_values
from uvdock.dockerfile.parser import parse_dockerfile
from uvdock.oci.config import image_config
from uvdock.oci.model import Platform
from uvdock.plan.model import BuildPlan
from uvdock.render.dockerfile import render_dockerfile

BASE_PATH = "/usr/local/bin:/usr/local/sbin:/usr/bin:/bin"
BASE_CONFIG: dict[str, Any] = {
    "architecture": "amd64",
    "os": "linux",
    "config": {"Env": [f"PATH={BASE_PATH}", "LANG=C.UTF-8"], "Cmd": ["python3"]},
    "rootfs": {"type": "layers", "diff_ids": []},
    "history": [],
}
PROJECTS = sorted(p.name for p in PROJECTS_DIR.iterdir() if (p / "pyproject.toml").is_file())
_DURATION = re.compile(r"(\d+)s")


def _plan(name: str) -> BuildPlan:
    plan = plan_project(PROJECTS_DIR / name, options={}, environ={})
    if plan.entrypoint is None:
        pytest.skip(f"{name}: no entrypoint, nothing to run")
    return plan


def _dockerfile_runtime(plan: BuildPlan) -> dict[str, Any]:
    """What the final stage sets, as an image config's ``config`` would hold it."""
    dockerfile = parse_dockerfile(render_dockerfile(plan, regenerate="uvdock"))
    stage = dockerfile.final_stage
    assert stage is not None
    env = {"PATH": BASE_PATH, "LANG": "C.UTF-8"}
    seen: dict[str, Any] = {"Env": env, "Cmd": ["python3"], "Labels": {}}
    for instruction in stage.instructions:
        keyword = instruction.keyword
        if keyword == "ENV":
            for key, value in key_values(instruction):
                env[key] = (value or "").replace("$PATH", env.get("PATH", ""))
        elif keyword == "LABEL":
            seen["Labels"].update(dict(key_values(instruction)))
        elif keyword == "WORKDIR":
            seen["WorkingDir"] = instruction.args
        elif keyword == "USER":
            seen["User"] = instruction.args
        elif keyword == "EXPOSE":
            seen.setdefault("ExposedPorts", {}).update({f"{instruction.args}/tcp": {}})
        elif keyword == "CMD":
            seen["Cmd"] = list(instruction.exec_form or ())
        elif keyword == "HEALTHCHECK":
            flags = {flag.name: flag.value or "" for flag in instruction.flags}
            seconds = {name: int(_DURATION.fullmatch(value)[1])  # type: ignore[index]
                       for name, value in flags.items() if name != "retries"}  # fmt: skip
            seen["Healthcheck"] = {
                "Test": ["CMD", *(instruction.exec_form or ())],
                "Interval": seconds["interval"] * 1_000_000_000,
                "Timeout": seconds["timeout"] * 1_000_000_000,
                "StartPeriod": seconds["start-period"] * 1_000_000_000,
                "Retries": int(flags["retries"]),
            }
    return seen


@pytest.mark.parametrize("name", PROJECTS)
def test_the_dockerfile_and_the_oci_config_agree(name: str) -> None:
    plan = _plan(name)
    config = image_config(
        plan.runtime,
        BASE_CONFIG,
        diff_ids=[],
        history=[],
        created="1970-01-01T00:00:00Z",
        platform=Platform(os="linux", architecture="amd64"),
    )["config"]
    expected = _dockerfile_runtime(plan)
    env = dict(item.split("=", 1) for item in config["Env"])
    # The daemonless engine also sets VIRTUAL_ENV; the Dockerfile never has.
    assert env.pop("VIRTUAL_ENV") == plan.runtime.venv
    assert env == expected["Env"]
    assert list(env) == list(expected["Env"])  # the same order
    for key in ("WorkingDir", "User", "Cmd", "Labels", "ExposedPorts", "Healthcheck"):
        assert config.get(key) == expected.get(key), key
    assert not config.get("Entrypoint")


def test_every_fixture_project_is_checked() -> None:
    assert {"flask-app", "uv-workspace", "cli-tool", "fastapi-virtual"} <= set(PROJECTS)
