"""`uvdock build` against the real engine and registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.docker import (
    CA_BUNDLE,
    IMAGE_PREFIX,
    docker,
    history,
    http_get,
    http_json,
    image_files,
    running,
)
from tests.support.local_index import PRIVATE_PASSWORD
from tests.support.servers import private_index_env
from tests.unit.test_cli import snapshot

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("engine")]
CopyProject = Callable[[str], Path]
# The test bed's second engine: Docker with the containerd image store (OCI export,
# rewrite-timestamp, local cache export: what the classic store's docker driver lacks).
CONTAINERD_ENGINE = "unix:///run/uvdock-docker-containerd.sock"
GENERATED = ("Dockerfile", "Dockerfile.official", "Dockerfile.dev", "compose.yaml", ".dockerignore")


def uvdock(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "UVDOCK_IMAGE_PREFIX": IMAGE_PREFIX,
        "UVDOCK_CA_BUNDLE": CA_BUNDLE,
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "uvdock", *args],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        timeout=1200,
    )


def bare_example(project_copy: CopyProject) -> Path:
    root = project_copy("fastapi-app")
    for name in GENERATED:
        (root / name).unlink(missing_ok=True)
    return root


def test_build_loads_an_image_and_leaves_the_project_alone(project_copy: CopyProject) -> None:
    root = bare_example(project_copy)
    before = snapshot(root)
    tag = "uvdock-test/build:load"
    try:
        done = uvdock("build", str(root), "-t", tag, "--network", "host", "--format", "json")
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)["data"]
        assert data["output"] == "load"
        assert data["digest"] == docker("image", "inspect", "-f", "{{.Id}}", tag).stdout.strip()
        assert data["size"] > 0
        assert snapshot(root) == before  # rendered in a temp dir, nothing written here
        with running(tag) as (_, url):
            assert http_json(url + "/health") == (200, {"status": "ok"})
    finally:
        docker("rmi", "-f", tag, check=False)


def test_build_two_platforms_pushes_one_index(project_copy: CopyProject) -> None:
    root = bare_example(project_copy)
    ref = "localhost:5000/uvdock-test/fastapi-app:multi"
    done = uvdock("build", str(root), "-t", ref, "--platform", "linux/amd64,linux/arm64",
                  "--push", "--network", "host", "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["data"]
    reported = {p["platform"]: p["digest"] for p in data["platforms"]}
    # Checked independently: the registry holds one index with both platforms.
    raw = json.loads(docker("buildx", "imagetools", "inspect", "--raw", ref).stdout)
    listed = {
        f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"]
        for m in raw["manifests"]
    }
    assert listed == reported
    assert set(listed) == {"linux/amd64", "linux/arm64"}
    arm64 = f"{ref.rsplit(':', 1)[0]}@{listed['linux/arm64']}"
    machine = docker("run", "--rm", "--platform", "linux/arm64", "--entrypoint", "uname",
                     arm64, "-m").stdout.strip()  # fmt: skip
    assert machine == "aarch64"
    with running(arm64, "--platform", "linux/arm64") as (_, url):
        assert http_json(url + "/health", timeout=120) == (200, {"status": "ok"})


def test_several_platforms_cannot_be_loaded(project_copy: CopyProject) -> None:
    root = bare_example(project_copy)
    done = uvdock("build", str(root), "-t", "x:y", "--platform", "linux/amd64,linux/arm64")
    assert done.returncode == 2
    assert "--push" in done.stderr


def test_missing_index_secret_is_named(project_copy: CopyProject) -> None:
    root = project_copy("private-index")
    env = {"UV_INDEX_PRIVATE_USERNAME": "", "UV_INDEX_PRIVATE_PASSWORD": ""}
    done = uvdock("build", str(root), "-t", "x:y", env=env)
    assert done.returncode == 2
    assert "UV_INDEX_PRIVATE_USERNAME" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_no_docker_is_one_clear_error(project_copy: CopyProject) -> None:
    root = bare_example(project_copy)
    done = uvdock("build", str(root), "-t", "x:y", env={"UVDOCK_DOCKER": "/nonexistent/docker"})
    assert done.returncode == 1
    assert "docker not found" in done.stderr
    assert "Traceback" not in done.stderr


def test_failed_step_shows_the_log_tail(project_copy: CopyProject) -> None:
    root = project_copy("requirements-only")
    (root / "requirements.txt").write_text("uvdock-no-such-package-4f1e==1.0\n")
    done = uvdock("build", str(root), "-t", "uvdock-test/fail:x", "--network", "host",
                  "--progress", "quiet", "--command", "python app.py")  # fmt: skip
    assert done.returncode == 1
    assert "docker buildx build failed" in done.stderr
    assert "uvdock-no-such-package-4f1e" in done.stderr


def test_unreachable_registry_is_one_clear_error(project_copy: CopyProject) -> None:
    root = bare_example(project_copy)
    done = uvdock("build", str(root), "-t", "127.0.0.1:5999/nowhere/app:1", "--push",
                  "--network", "host", "--progress", "quiet")  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "pushing failed" in lines[0]
    assert "registry is unreachable" in lines[0]


@pytest.mark.usefixtures("fixture_servers")
def test_build_secret_never_lands_in_the_image(project_copy: CopyProject) -> None:
    """Index credentials go in as BuildKit secrets: absent from every layer, config, history."""
    root = project_copy("private-index")
    tag = "uvdock-test/build:secret"
    try:
        done = uvdock("build", str(root), "-t", tag, "--network", "host", "--progress", "quiet",
                      env=private_index_env())  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert docker("run", "--rm", tag).stdout.startswith("private-index: hello")
        files = image_files(tag)
        assert any(name.endswith(".json") for name in files)  # the config was searched too
        leaks = [name for name, data in files.items() if PRIVATE_PASSWORD.encode() in data]
        assert leaks == []
        assert PRIVATE_PASSWORD not in history(tag)
        assert PRIVATE_PASSWORD not in docker("image", "inspect", tag).stdout
    finally:
        docker("rmi", "-f", tag, check=False)


def test_reproducible_builds_give_the_same_digest(
    project_copy: CopyProject, tmp_path: Path
) -> None:
    """Two --no-cache builds, minutes apart, same inputs: one digest (containerd image store).

    Docker's classic image store ignores rewrite-timestamp, so this uses the test bed's
    second engine (TESTBED_CONTAINERD_STORE=1), as the README says users must.
    """
    root = bare_example(project_copy)
    digests = []
    for run_number, epoch in ((1, "1700000000"), (2, "1700000000"), (3, "1700000001")):
        dest = tmp_path / f"image-{run_number}.tar"
        done = uvdock(
            "build", str(root), "-t", "uvdock-test/repro:x", "--network", "host",
            "--no-cache", "--reproducible", "--source-date-epoch", epoch,
            "--output", f"type=oci,dest={dest}", "--format", "json",
            env={"DOCKER_HOST": CONTAINERD_ENGINE},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        digests.append(json.loads(done.stdout)["data"]["digest"])
    assert digests[0] is not None
    assert digests[0] == digests[1]
    assert digests[2] != digests[0]  # the timestamp is really in the image: the test can fail


def test_reproducible_on_the_classic_store_explains_itself(project_copy: CopyProject) -> None:
    root = bare_example(project_copy)
    done = uvdock(
        "build", str(root), "-t", "x:y", "--reproducible", "--source-date-epoch", "1",
        "--output", "type=oci,dest=/tmp/uvdock-never.tar", "--progress", "quiet",
    )  # fmt: skip
    assert done.returncode == 1
    assert "containerd image store" in done.stderr


@pytest.fixture
def auth_registry(tmp_path: Path) -> Iterator[str]:
    """A second real registry (distribution 2.8) on 127.0.0.1:5001 that demands basic auth."""
    htpasswd = tmp_path / "htpasswd"
    hashed = subprocess.run(
        ["htpasswd", "-Bbn", "uvdock", "registry-secret-77"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    htpasswd.write_text(hashed)
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'data'}\n"
        "http:\n  addr: 127.0.0.1:5001\n"
        f"auth:\n  htpasswd:\n    realm: uvdock-test\n    path: {htpasswd}\n"
    )
    with (tmp_path / "registry.log").open("w") as log:
        server = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        status, _ = http_get("http://127.0.0.1:5001/v2/", timeout=30)
        assert status == 401
        yield "localhost:5001"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_denied_push_says_to_log_in(project_copy: CopyProject, auth_registry: str) -> None:
    root = bare_example(project_copy)
    done = uvdock("build", str(root), "-t", f"{auth_registry}/team/app:1", "--push",
                  "--network", "host", "--progress", "quiet")  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "pushing failed" in lines[0]
    assert "docker login" in lines[0]
    assert "registry-secret-77" not in done.stderr


def test_engine_not_answering_is_one_clear_error(project_copy: CopyProject) -> None:
    root = bare_example(project_copy)
    done = uvdock("build", str(root), "-t", "x:y", env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert done.returncode == 1
    assert "the Docker Engine is not answering" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_cache_to_and_from_are_passed_through(project_copy: CopyProject, tmp_path: Path) -> None:
    """A local cache exported by one build feeds the next one after the builder is emptied."""
    root = bare_example(project_copy)
    cache = tmp_path / "cache"
    env = {"DOCKER_HOST": CONTAINERD_ENGINE}
    first = uvdock("build", str(root), "-t", "uvdock-test/cache:x", "--network", "host",
                   "--output", f"type=oci,dest={tmp_path / 'a.tar'}",
                   "--cache-to", f"type=local,dest={cache},mode=max", env=env)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert (cache / "index.json").is_file()
    docker("builder", "prune", "-af", env=env)
    second = uvdock("build", str(root), "-t", "uvdock-test/cache:x", "--network", "host",
                    "--output", f"type=oci,dest={tmp_path / 'b.tar'}", "--progress", "plain",
                    "--cache-from", f"type=local,src={cache}", env=env)  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert "importing cache manifest from local" in second.stderr
    assert second.stderr.count("CACHED") >= 3, second.stderr[-3000:]
