"""The corpus of real shapes (issue 10), built and run as a new user would.

For each case that builds: ``uvdock init`` on a copy (pointed where the case
says, e.g. a workspace member's directory), the generated Dockerfile built by
the real engine with the context the plan names, the image run and probed;
then the same project built by the daemonless engine (``--load``), run and
probed again. Images come from the stand-ins in the local registry
(``--image-prefix``) and the machine's CA reaches the build as a secret.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.docker import (
    CA_BUNDLE,
    IMAGE_PREFIX,
    build,
    ca_secret,
    docker,
    http_json,
    remove_image,
    running,
)
from tests.support.corpus import CASES, CORPUS_DIR, Case
from tests.support.servers import private_index_env

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("engine")]
BUILT = [case for case in CASES if case.build and case.plan_error is None]


def uvdock(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "uvdock", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def copy_case(case: Case, tmp_path: Path) -> Path:
    root = tmp_path / case.shape
    shutil.copytree(CORPUS_DIR / case.shape, root,
                    ignore=shutil.ignore_patterns(".venv", "__pycache__"))  # fmt: skip
    return root / case.target


def probe(case: Case, image: str) -> None:
    if case.stdout is not None:
        assert docker("run", "--rm", image).stdout == case.stdout
        return
    with running(image, port=case.port, ready=case.probes[0].path) as (_, url):
        for check in case.probes:
            status, body = http_json(url + check.path)
            assert status == check.status, (check.path, body)
            if check.json is not None:
                assert body == check.json, (check.path, body)


def assert_absent(case: Case, image: str) -> None:
    listing = docker("run", "--rm", "--entrypoint", "python", image, "-c",
                     "import importlib.metadata as m; print(sorted(d.name.lower() for d in "
                     "m.distributions()))").stdout  # fmt: skip
    for item in case.absent:
        if item.startswith("/"):
            script = f"import os, sys; sys.exit(os.path.exists({item!r}))"
            done = docker("run", "--rm", "--entrypoint", "python", image, "-c", script,
                          check=False)  # fmt: skip
            assert done.returncode == 0, f"{item} is in the image"
        else:
            assert f"'{item}'" not in listing, f"{item} is installed: {listing}"


def secrets_for(case: Case) -> tuple[list[str], dict[str, str] | None]:
    if not case.needs_credentials:
        return [ca_secret()], None
    env = private_index_env()
    return [ca_secret(), *(f"id={name},env={name}" for name in env)], env


@pytest.mark.parametrize("case", BUILT, ids=lambda c: c.id)
@pytest.mark.usefixtures("fixture_servers")
def test_init_build_and_run(case: Case, tmp_path: Path) -> None:
    target = copy_case(case, tmp_path)
    flags = ["--image-prefix", IMAGE_PREFIX, "--ca-bundle", CA_BUNDLE, *case.options]
    uvdock("init", str(target), "--force", *flags)
    plan: dict[str, Any] = json.loads(uvdock("plan", str(target), "--format", "json", *flags))
    context = Path(plan["data"]["project"]["context"])
    dockerfile = (target / "Dockerfile").relative_to(context).as_posix()
    secrets, env = secrets_for(case)
    tag = f"uvdock-corpus/{case.name}:docker"
    try:
        build(context, tag=tag, dockerfile=dockerfile, secrets=secrets, env=env)
        config = json.loads(docker("image", "inspect", tag).stdout)[0]["Config"]
        assert config["User"] == "10001:10001"
        if case.argv is not None:
            assert tuple(config["Cmd"]) == case.argv
        probe(case, tag)
        assert_absent(case, tag)
    finally:
        remove_image(tag)


OCI = [case for case in BUILT if case.oci]


@pytest.mark.parametrize("case", OCI, ids=lambda c: c.id)
@pytest.mark.usefixtures("fixture_servers")
def test_daemonless_build_and_run(case: Case, tmp_path: Path) -> None:
    target = copy_case(case, tmp_path)
    tag = f"uvdock-corpus/{case.name}:oci"
    _, env = secrets_for(case)
    try:
        uvdock("build", str(target), "--engine", "oci", "--image-prefix", IMAGE_PREFIX,
               "--load", "-t", tag, "--progress", "plain", *case.options, env=env)  # fmt: skip
        probe(case, tag)
        assert_absent(case, tag)
    finally:
        remove_image(tag)


@pytest.mark.parametrize(
    ("case_name", "extra"),
    [
        ("workspace-two-apps-worker", ()),  # --package from the virtual root
        ("workspace-template-from-member", ()),  # pointed at the member's directory
    ],
)
def test_uvdock_build_on_the_docker_engine(
    case_name: str, extra: tuple[str, ...], tmp_path: Path
) -> None:
    """`uvdock build` (engine docker) renders into a scratch directory: the context is
    the workspace root and the .dockerignore the member's, as with the written files."""
    case = next(c for c in CASES if c.name == case_name)
    target = copy_case(case, tmp_path)
    tag = f"uvdock-corpus/{case.name}:uvdock-build"
    try:
        uvdock("build", str(target), "--image-prefix", IMAGE_PREFIX, "--ca-bundle", CA_BUNDLE,
               "--network", "host", "--load", "-t", tag, *case.options, *extra)  # fmt: skip
        probe(case, tag)
        assert_absent(case, tag)
    finally:
        remove_image(tag)
