"""DockerCLI error paths that real parts cannot produce on demand (a missing buildx plugin)."""

from __future__ import annotations

import sys

import pytest

from tests.support.fake_runner import FakeRunner
from uvdock.docker.cli import DockerCLI, failed_step_log
from uvdock.errors import ToolNotFoundError


def test_missing_buildx_is_named_with_the_fix() -> None:
    docker = DockerCLI(
        binary=sys.executable,  # any existing file: the runner below answers for it
        runner=FakeRunner({
            ("version",): (0, "26.1.5\n", ""),
            ("buildx", "version"): (1, "", "docker: 'buildx' is not a docker command."),
        }),
    )  # fmt: skip
    with pytest.raises(ToolNotFoundError) as caught:
        docker.check_engine()
    assert caught.value.exit_code == 1
    assert "docker buildx is not installed" in caught.value.one_line()
    assert "docker-buildx" in caught.value.one_line()


def test_missing_docker_binary() -> None:
    with pytest.raises(ToolNotFoundError, match="docker not found"):
        DockerCLI(binary="/nonexistent/docker").check_engine()


def test_failed_step_log_keeps_the_failing_steps_lines() -> None:
    lines = [
        "#5 [builder 1/4] FROM python",
        "#5 DONE 0.1s",
        "#9 [builder 4/4] RUN uv sync --locked",
        "#9 0.2 Resolved 3 packages",
        "#9 0.3 error: lockfile needs to be updated",
        "#9 ERROR: process did not complete successfully: exit code: 2",
        "ERROR: failed to solve: exit code: 2",
    ]
    output = "\n".join(lines)
    text = failed_step_log(output)
    assert "#9 [builder 4/4] RUN uv sync --locked" in text
    assert "lockfile needs to be updated" in text
    assert "#5 " not in text
