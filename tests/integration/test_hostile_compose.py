"""Docker's own readers agree: hostile values give the compose file and Dockerfile they should.

The unit property tests (tests/unit/test_hostile_render.py) read the generated
files with PyYAML and our parser; here ``docker compose config`` reads the
compose file, and BuildKit builds the Dockerfile's label and health check,
for values chosen to break each language: a colon and a ``#`` in directory
names, ``$`` in a command and a description, quotes in a health path.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.docker import IMAGE_PREFIX, docker
from uvdock.api import plan_project
from uvdock.project.model import Sourced
from uvdock.render.files import render_files

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("engine")]

CopyProject = Callable[[str], Path]


def test_compose_reads_hostile_paths_and_dollars_literally(project_copy: CopyProject) -> None:
    root = project_copy("flask-app")
    for name in ("a: b", "x #", "it's"):
        (root / name).mkdir()
    plan = plan_project(root, options={}, environ={})
    assert plan.entrypoint is not None
    entry = dataclasses.replace(plan.entrypoint.value, dev_argv=("echo", "$HOME", "${X:-y}"))
    project = dataclasses.replace(plan.project, source_dirs=("a: b", "x #", "it's"))
    plan = dataclasses.replace(
        plan, project=project, entrypoint=Sourced(entry, plan.entrypoint.source)
    )
    compose = next(
        f for f in render_files(plan, regenerate="uvdock init") if f.name == "compose.yaml"
    )
    (root / "compose.yaml").write_text(compose.content)
    (root / "Dockerfile.dev").write_text("FROM scratch\n")
    done = docker(
        "compose", "-f", str(root / "compose.yaml"), "config", "--format", "json", cwd=root
    )
    service = json.loads(done.stdout)["services"]["flask-app"]
    # Not interpolated (no home directory, no "y"); `config` prints a literal $ as $$.
    assert service["command"] == ["echo", "$$HOME", "$${X:-y}"]
    mounts = {(m["source"], m["target"]) for m in service["volumes"] if m["type"] == "bind"}
    assert mounts == {
        (str(root / "a: b"), "/app/a: b"),
        (str(root / "x #"), "/app/x #"),
        (str(root / "it's"), "/app/it's"),
    }


def test_buildkit_keeps_hostile_label_and_probe_values_literal(
    project_copy: CopyProject, tmp_path: Path
) -> None:
    """A LABEL with $, quotes and a backslash, and a probe path with a quote, built by BuildKit."""
    root = project_copy("flask-app")
    plan = plan_project(root, options={}, environ={})
    description = 'costs $HOME "quoted" back\\slash'
    project = dataclasses.replace(plan.project, description=description)
    plan = dataclasses.replace(plan, project=project)
    dockerfile = render_files(plan, regenerate="uvdock init")[0].content
    # Only the final stage's metadata matters here: build its LABEL and HEALTHCHECK on a
    # local base image, with no dependency install (the network is not needed).
    tail = [line for line in dockerfile.splitlines() if line.startswith(("LABEL", "      org."))]
    health = dockerfile[dockerfile.index("HEALTHCHECK") : dockerfile.index("LABEL")]
    base = f"{IMAGE_PREFIX}/library/python:3.13-slim-trixie"
    (tmp_path / "Dockerfile").write_text(f"FROM {base}\n{health}" + "\n".join(tail) + "\n")
    tag = "uvdock-test/hostile-label:1"
    docker("buildx", "build", "--load", "-t", tag, str(tmp_path))
    inspected = json.loads(docker("image", "inspect", tag).stdout)[0]["Config"]
    assert inspected["Labels"]["org.opencontainers.image.description"] == description
    probe = inspected["Healthcheck"]["Test"]
    assert probe[:3] == ["CMD", "python", "-c"]
    assert "urlopen('http://127.0.0.1:8000/health', timeout=4)" in probe[3]
