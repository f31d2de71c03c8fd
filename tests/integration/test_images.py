"""Build what `uvdock init` generates with the real engine, run it, and inspect it.

Every image here is built from the files uvdock wrote, on the stand-in base
images in the local registry (``--image-prefix``), with the machine's CA
passed as a BuildKit secret (``--ca-bundle``), exactly as a user behind a
TLS-intercepting proxy and a registry mirror would.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.docker import (
    CA_BUNDLE,
    IMAGE_PREFIX,
    build,
    ca_secret,
    docker,
    docker_binary,
    history,
    http_json,
    image_files,
    remove_image,
    running,
    wait_healthy,
)
from tests.support.fixtures import EXAMPLE, FIXTURES, CommandCheck, Fixture, HttpCheck, json_matches
from tests.support.local_index import PRIVATE_PASSWORD
from tests.support.servers import private_index_env

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("engine")]
CopyProject = Callable[[str], Path]
ENV_SECRET = "do-not-ship-9d1c2f"


def uvdock(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "uvdock", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def generate(root: Path, *, approach: str = "custom") -> str:
    dockerfile = "Dockerfile" if approach == "custom" else "Dockerfile.official"
    uvdock("init", str(root), "--approach", approach, "--dockerfile", dockerfile,
           "--image-prefix", IMAGE_PREFIX, "--ca-bundle", CA_BUNDLE, "--force")  # fmt: skip
    return dockerfile


def sh(image: str, script: str) -> subprocess.CompletedProcess[str]:
    return docker("run", "--rm", "--entrypoint", "/bin/sh", image, "-c", script, check=False)


def check_fixture(fixture: Fixture, image: str) -> None:
    check = fixture.check
    if isinstance(check, CommandCheck):
        out = docker("run", "--rm", image).stdout
        assert out == check.stdout
        return
    assert isinstance(check, HttpCheck)
    with running(image) as (cid, url):
        for probe in check.probes:
            status, body = http_json(url + probe.path)
            assert status == probe.status, (probe.path, body)
            assert json_matches(probe.json, body, partial=probe.partial), (  # type: ignore[arg-type]
                probe.path,
                body,
            )
        assert wait_healthy(cid) == "healthy"


@pytest.mark.parametrize("approach", ["custom", "official"])
def test_example_image(approach: str, project_copy: CopyProject) -> None:
    root = project_copy("fastapi-app")
    # Things on the host that must never reach the image.
    (root / ".venv").mkdir(exist_ok=True)
    (root / ".venv" / "HOST_MARKER").write_text("host venv\n")
    (root / ".env").write_text(f"API_TOKEN={ENV_SECRET}\n")
    dockerfile = generate(root, approach=approach)
    tag = f"uvdock-test/fastapi-app:{approach}"
    try:
        build(root, tag=tag, dockerfile=dockerfile, secrets=[ca_secret()])
        config = json.loads(docker("image", "inspect", tag).stdout)[0]["Config"]
        assert config["User"] == "10001:10001"
        assert config["Cmd"][:2] == ["uvicorn", "app.main:app"]
        assert "8000/tcp" in config["ExposedPorts"]
        assert config["Labels"]["org.opencontainers.image.title"] == "fastapi-app"

        check_fixture(EXAMPLE, tag)
        with running(tag) as (cid, url):
            status, created = http_json(url + "/items", method="POST",
                                        body={"name": "widget", "price": 2.5})  # fmt: skip
            assert status == 201, created
            status, listed = http_json(url + "/items")
            assert status == 200
            assert isinstance(listed, list)
            assert [item["name"] for item in listed] == ["widget"]
            status, invalid = http_json(url + "/items", method="POST", body={"price": "x"})
            assert status == 422, invalid
            uid_line = docker("exec", cid, "grep", "^Uid:", "/proc/1/status").stdout.split()
            assert uid_line[1:3] == ["10001", "10001"], uid_line

        # Nothing from the host, no uv cache, no build tools in the final image.
        absent = [
            "test ! -e /app/.venv/HOST_MARKER",
            "test ! -e /root/.cache/uv",
            "! command -v gcc",
            "! command -v cc",
            "test ! -e /app/.env",
            "test ! -e /run/secrets/ca_bundle.pem",
        ]
        if approach == "custom":
            absent += [
                "! command -v uv",  # uv never reaches the final stage
                "test ! -e /app/app",  # installed non-editable: no source needed
                "test ! -e /app/pyproject.toml",
                # The build backend is installed in the project stage only.
                "! /app/.venv/bin/python -c 'import hatchling'",
            ]
        for condition in absent:
            assert sh(tag, condition).returncode == 0, condition
        # The venv's python is the base image's, at the same path (one image, both stages).
        target = sh(tag, "readlink -f /app/.venv/bin/python").stdout.strip()
        assert target.startswith("/usr/local/bin/python3.13"), target
        files = image_files(tag)
        assert not [name for name, data in files.items() if ENV_SECRET.encode() in data]
    finally:
        remove_image(tag)


def test_source_edit_rebuilds_only_the_project_layer(project_copy: CopyProject) -> None:
    """A source edit reruns the project step alone and changes only the top layer."""
    root = project_copy("fastapi-app")
    dockerfile = generate(root)
    tag = "uvdock-test/fastapi-app:edit"
    try:
        build(root, tag=tag, dockerfile=dockerfile, secrets=[ca_secret()])
        before = json.loads(docker("image", "inspect", tag).stdout)[0]["RootFS"]["Layers"]
        main = root / "app" / "main.py"
        # A token unique to this run, so no earlier build of the same edit is cached.
        token = uuid.uuid4().hex
        main.write_text(
            main.read_text()
            + '\n\n@app.get("/edited")\nasync def edited() -> dict[str, str]:\n'
            + f'    return {{"edited": "{token}"}}\n'
        )
        log = build(root, tag=tag, dockerfile=dockerfile, secrets=[ca_secret()]).stderr
        assert _steps_run(log) == [
            "project: COPY . /app",
            "project: RUN UV_COMPILE_BYTECODE=0 uv sync --locked",
            "final: COPY --from=project /out/ /",
        ], log
        after = json.loads(docker("image", "inspect", tag).stdout)[0]["RootFS"]["Layers"]
        # The steps above prove nothing else ran. (Comparing the lower layers' digests
        # is not reliable: when BuildKit holds two cache records for one step, e.g.
        # from concurrent builds, a cached step may come back as the other record.)
        assert len(after) == len(before)
        assert after[-1] != before[-1]
        sizes = docker("history", "--no-trunc", "--human=false",
                       "--format", "{{.Size}}\t{{.CreatedBy}}", tag).stdout  # fmt: skip
        project_layer = next(line for line in sizes.splitlines() if "COPY /out/ /" in line)
        assert int(project_layer.split("\t")[0]) < 100_000, sizes  # the app's files, not a venv
        with running(tag) as (_, url):
            assert http_json(url + "/edited") == (200, {"edited": token})
    finally:
        remove_image(tag)


def _steps_run(plain_log: str) -> list[str]:
    """The steps a ``--progress plain`` build ran rather than took from its cache.

    Each as ``stage: INSTRUCTION`` and its first words, mounts left out
    (``final`` for the unnamed last stage), in the order the build started them.
    """
    names: dict[str, str] = {}
    cached: set[str] = set()
    for line in plain_log.splitlines():
        number, _, rest = line.partition(" ")
        step = re.match(r"\[(\S+) \d+/\d+\] (\w+) (.*)", rest)
        if step and step[2] != "FROM":
            stage = "final" if step[1].startswith("stage-") else step[1]
            words = [w for w in step[3].split() if not w.startswith("--mount=")]
            names.setdefault(number, f"{stage}: {step[2]} {' '.join(words[:4])}")
        elif rest == "CACHED":
            cached.add(number)
    return [name for number, name in names.items() if number not in cached]


def _secrets_for(fixture: Fixture) -> tuple[list[str], dict[str, str]]:
    secrets = [ca_secret()]
    env: dict[str, str] = {}
    if fixture.needs_credentials:
        env = private_index_env()
        secrets += [f"id={name},env={name}" for name in env]
    return secrets, env


@pytest.mark.parametrize("name", sorted(FIXTURES))
@pytest.mark.usefixtures("fixture_servers")
def test_fixture_builds_and_runs(name: str, project_copy: CopyProject) -> None:
    fixture = FIXTURES[name]
    root = project_copy(name)
    generate(root)
    tag = f"uvdock-test/{name}:custom"
    secrets, env = _secrets_for(fixture)
    try:
        build(root, tag=tag, secrets=secrets, env=env)
        check_fixture(fixture, tag)
        assert sh(tag, "! command -v gcc && ! command -v uv && ! command -v git").returncode == 0
        if fixture.needs_credentials:
            files = image_files(tag)
            leaks = [n for n, data in files.items() if PRIVATE_PASSWORD.encode() in data]
            assert leaks == []
            assert PRIVATE_PASSWORD not in history(tag)
    finally:
        remove_image(tag)


@pytest.mark.usefixtures("fixture_servers")
def test_private_index_without_secret_fails_clearly(project_copy: CopyProject) -> None:
    root = project_copy("private-index")
    generate(root)
    done = docker(
        "buildx",
        "build",
        "--no-cache",
        "--network",
        "host",
        "--secret",
        ca_secret(),
        str(root),
        check=False,
    )
    assert done.returncode != 0
    assert "UV_INDEX_PRIVATE_USERNAME" in done.stderr


def test_no_syntax_directive(project_copy: CopyProject) -> None:
    """No `# syntax=` line: the engine's built-in frontend is enough (air-gapped users)."""
    root = project_copy("fastapi-app")
    generate(root)
    for name in ("Dockerfile", "Dockerfile.dev"):
        assert not (root / name).read_text().lstrip().startswith("# syntax")


def _container_id(compose: list[str], root: Path) -> str:
    return docker(*compose, "ps", "-q", "fastapi-app", cwd=root, check=False).stdout.strip()


def _wait_for(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout}s waiting for {what}"
            raise AssertionError(msg)
        time.sleep(0.5)


def test_compose_dev_setup(project_copy: CopyProject, tmp_path: Path) -> None:
    """`docker compose watch`: mounted code reloads, other files sync, uv.lock rebuilds."""
    root = project_copy("fastapi-app")
    generate(root)
    project = "uvdocktest-dev"
    compose = ["compose", "-p", project, "-f", str(root / "compose.yaml")]
    config = json.loads(docker(*compose, "config", "--format", "json").stdout)
    service = config["services"]["fastapi-app"]
    assert {(w["action"], Path(w["path"]).name) for w in service["develop"]["watch"]} == {
        ("sync", root.name), ("rebuild", "uv.lock")
    }  # fmt: skip
    log_path = tmp_path / "watch.log"
    with log_path.open("w") as log:
        watcher = subprocess.Popen(
            [docker_binary(), *compose, "watch"], cwd=root, stdout=log, stderr=subprocess.STDOUT
        )
    url = "http://127.0.0.1:8000"
    try:
        status, body = http_json(url + "/health", timeout=300)
        assert (status, body) == (200, {"status": "ok"})
        assert "won't be monitored" not in log_path.read_text()
        # The venv is outside the project tree: nothing is written into the host's tree.
        assert not (root / ".venv").exists()

        # 1. Mounted code: the server reloads and serves the edit.
        main = root / "app" / "main.py"
        main.write_text(
            main.read_text()
            + '\n\n@app.get("/edited")\nasync def edited() -> dict[str, str]:\n'
            + '    return {"edited": "yes"}\n'
        )
        _wait_for(lambda: http_json(url + "/edited")[0] == 200, timeout=90, what="/edited")
        assert http_json(url + "/edited") == (200, {"edited": "yes"})

        # 2. A file outside the mounts reaches the container through watch's sync.
        (root / "README.md").write_text("synced by compose watch\n")

        def synced() -> bool:
            done = docker(*compose, "exec", "-T", "fastapi-app", "cat", "/app/README.md",
                          cwd=root, check=False)  # fmt: skip
            return done.stdout == "synced by compose watch\n"

        _wait_for(synced, timeout=60, what="README.md to sync")

        # Dev dependencies are there (the example's own tests pass), as uid 1000.
        uid = docker(*compose, "exec", "-T", "fastapi-app", "id", "-u", cwd=root).stdout
        assert uid.strip() == "1000"
        tests = docker(*compose, "exec", "-T", "fastapi-app", "python", "-m", "pytest", "-q",
                       "-p", "no:cacheprovider", cwd=root, check=False)  # fmt: skip
        assert tests.returncode == 0, tests.stdout + tests.stderr

        # 3. A change to uv.lock rebuilds the image and replaces the container.
        before = _container_id(compose, root)
        with (root / "uv.lock").open("a") as lock:
            lock.write("# touched by the test: compose watch must rebuild\n")
        _wait_for(lambda: _container_id(compose, root) not in ("", before), timeout=300,
                  what="the container to be rebuilt")  # fmt: skip
        status, _ = http_json(url + "/health", timeout=120)
        assert status == 200
    finally:
        watcher.terminate()
        try:
            watcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            watcher.kill()
        docker(*compose, "down", "-v", "--rmi", "local", check=False, cwd=root)
