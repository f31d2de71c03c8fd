"""``--base-image docker-daemon:IMAGE``: the daemonless engine's base from the local engine.

Run against both of the test bed's engines: the classic image store
(``docker save`` writes the layers uncompressed) and the containerd image
store (the original index and compressed blobs, only the platforms pulled).
The base is the python stand-in, copied to a name of this run in the
registry and pulled into the engine under test (so the engine holds what a
``docker pull`` gives, and nothing shared is touched); everything the test
creates in the engine is removed afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.docker import IMAGE_PREFIX, REGISTRY, docker, http_get, http_json, running

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("engine")]
CopyProject = Callable[[str], Path]
# The test bed's second engine (scripts/testbed.sh: TESTBED_CONTAINERD_STORE=1): host and
# none networking only, so its containers serve on the host network.
CONTAINERD_ENGINE = "unix:///run/uvdock-docker-containerd.sock"
ENGINES = {"classic": {}, "containerd": {"DOCKER_HOST": CONTAINERD_ENGINE}}
STANDIN = f"{IMAGE_PREFIX}/library/python:3.13-slim-trixie"


@pytest.fixture(params=sorted(ENGINES))
def engine_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """``DOCKER_HOST`` of the engine under test (none: the default engine)."""
    env: dict[str, str] = ENGINES[request.param]
    answer = docker("version", "--format", "{{.Server.Version}}", env=env, check=False)
    assert answer.returncode == 0, f"{request.param} engine not up: scripts/testbed.sh up"
    return env


@pytest.fixture
def base(engine_env: dict[str, str]) -> Iterator[str]:
    """The python stand-in, pulled into the engine under a name of this test only."""
    name = f"{REGISTRY}/uvdock-daemon-test/python:{uuid.uuid4().hex[:12]}"
    skopeo("copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
           f"docker://{STANDIN}", f"docker://{name}")  # fmt: skip
    try:
        docker("pull", "--quiet", name, env=engine_env)
        yield name
    finally:
        docker("image", "rm", "-f", name, env=engine_env, check=False)


def skopeo(*args: str) -> bytes:
    return subprocess.run(["skopeo", *args], capture_output=True, check=True).stdout


def uvdock(
    *args: str, cache: Path, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``uvdock build ... --engine oci`` with its own cache, against the engine in ``env``."""
    uv = os.environ.get("UV") or shutil.which("uv") or "uv"
    environment = {**os.environ, "UV": uv, "XDG_CACHE_HOME": str(cache), **env}
    done = subprocess.run(
        [sys.executable, "-m", "uvdock", "build", *args, "--engine", "oci"],
        capture_output=True, text=True, check=False, env=environment, timeout=1200,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, done.stderr
    return done


def root_layers(image: str, env: dict[str, str]) -> list[str]:
    out = docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", image, env=env).stdout
    layers: list[str] = json.loads(out)
    return layers


@contextlib.contextmanager
def serving(image: str, env: dict[str, str]) -> Iterator[str]:
    """The image's app answering on loopback; yields its base URL.

    On the classic engine the image runs as built (its own command, port
    8000 published); the containerd engine has no bridge network, so there
    it runs on the host network with uvicorn on a free port.
    """
    if not env:
        with running(image, ready="/health") as (_, url):
            yield url
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cid = docker("run", "-d", "--network", "host", image, "uvicorn", "app.main:app",
                 "--host", "127.0.0.1", "--port", str(port), env=env).stdout.strip()  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        try:
            http_get(url + "/health")
        except AssertionError:
            logs = docker("logs", "--tail", "40", cid, env=env, check=False)
            raise AssertionError(logs.stdout + logs.stderr) from None
        yield url
    finally:
        docker("rm", "-f", cid, env=env, check=False)


def test_example_builds_on_a_base_from_the_engine_and_serves(
    project_copy: CopyProject, tmp_path: Path, base: str, engine_env: dict[str, str]
) -> None:
    root = project_copy("fastapi-app")
    tag = f"uvdock-daemon-test/app:{uuid.uuid4().hex[:12]}"
    try:
        done = uvdock(str(root), "--base-image", f"docker-daemon:{base}", "--load", "-t", tag,
                      "--format", "json", cache=tmp_path / "cache", env=engine_env)  # fmt: skip
        data = json.loads(done.stdout)["data"]
        assert [p["platform"] for p in data["platforms"]] == ["linux/amd64"]
        assert data["platforms"][0]["python"].startswith("Python 3.13.5 at /usr/local/bin/")
        with serving(tag, engine_env) as url:
            assert http_json(url + "/health") == (200, {"status": "ok"})
            status, version = http_json(url + "/version")
            assert status == 200
            assert isinstance(version, dict)
            assert version["version"] == "0.1.0"
        # The image starts with exactly the base's layers as the engine holds them.
        base_layers = root_layers(base, engine_env)
        app_layers = root_layers(tag, engine_env)
        assert app_layers[: len(base_layers)] == base_layers
        assert len(app_layers) > len(base_layers)
        inspect = json.loads(docker("image", "inspect", tag, env=engine_env).stdout)[0]
        labels = inspect["Config"]["Labels"]
        assert labels["org.opencontainers.image.base.name"] == f"docker-daemon:{base}"
    finally:
        docker("image", "rm", "-f", tag, env=engine_env, check=False)


def test_an_image_the_engine_lacks_is_one_line(
    project_copy: CopyProject, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    root = project_copy("fastapi-app")
    done = uvdock(str(root), "--base-image", "docker-daemon:not/present:nope", "--load",
                  "-t", "uvdock-daemon-test/never:1", "--progress", "quiet",
                  cache=tmp_path / "cache", env=engine_env, check=False)  # fmt: skip
    assert done.returncode == 1
    expected = (
        "uvdock: error: docker-daemon:not/present:nope: no such image in the local Docker "
        "Engine; pull it first (`docker pull not/present:nope`), or use the registry "
        "reference directly (--base-image not/present:nope)"
    )
    assert done.stderr.strip().splitlines() == [expected]
    assert "Traceback" not in done.stderr


def test_an_engine_that_is_not_running_is_one_line(
    project_copy: CopyProject, tmp_path: Path
) -> None:
    root = project_copy("fastapi-app")
    env = {"DOCKER_HOST": "unix:///nonexistent/uvdock-daemon-test.sock"}
    done = uvdock(str(root), "--base-image", f"docker-daemon:{STANDIN}", "--load",
                  "-t", "uvdock-daemon-test/never:1", "--progress", "quiet",
                  cache=tmp_path / "cache", env=env, check=False)  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        f"uvdock: error: cannot read docker-daemon:{STANDIN}: the Docker Engine is not running"
    )
    assert "uvdock doctor" in lines[0]


def _registry_layers(reference: str) -> dict[str, list[str]]:
    """platform -> layer digests of each manifest of the index ``reference`` names."""
    index = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reference}"))
    found = {}
    for entry in index["manifests"]:
        platform = f"{entry['platform']['os']}/{entry['platform']['architecture']}"
        repo = reference.rpartition(":")[0]
        manifest = json.loads(skopeo("inspect", "--raw", "--tls-verify=false",
                                     f"docker://{repo}@{entry['digest']}"))  # fmt: skip
        found[platform] = [layer["digest"] for layer in manifest["layers"]]
    return found


def _manifest_layers(layout: Path, digest: str) -> list[dict[str, Any]]:
    manifest = json.loads((layout / "blobs" / "sha256" / digest.split(":")[1]).read_text())
    layers: list[dict[str, Any]] = manifest["layers"]
    return layers


def _engine_has_platform(name: str, platform: str, *, env: dict[str, str], scratch: Path) -> bool:
    """Whether ``docker save`` of ``name`` holds ``platform``'s manifest."""
    index = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{name}"))
    wanted = next(
        m["digest"] for m in index["manifests"]
        if f"{m['platform']['os']}/{m['platform']['architecture']}" == platform
    )  # fmt: skip
    docker("image", "save", "-o", str(scratch), name, env=env)
    try:
        with tarfile.open(scratch) as archive:
            return f"blobs/sha256/{wanted.split(':')[1]}" in archive.getnames()
    finally:
        scratch.unlink()


def test_containerd_store_platforms_are_the_ones_pulled(
    project_copy: CopyProject, tmp_path: Path
) -> None:
    """The saved index names arm64 but holds only amd64 until arm64 is pulled too."""
    env = ENGINES["containerd"]
    name = f"{REGISTRY}/uvdock-daemon-test/python:{uuid.uuid4().hex[:12]}"
    skopeo("copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
           f"docker://{STANDIN}", f"docker://{name}")  # fmt: skip
    root = project_copy("fastapi-app")
    both = ("--platform", "linux/amd64,linux/arm64")
    try:
        docker("pull", "--quiet", "--platform", "linux/amd64", name, env=env)
        # Content is shared by digest in the containerd store: when another image of the
        # same base brought arm64 in already, only the two-platform build below is checked.
        if not _engine_has_platform(name, "linux/arm64", env=env, scratch=tmp_path / "s.tar"):
            missing = uvdock(str(root), "--base-image", f"docker-daemon:{name}", *both,
                             "--output", f"type=oci,dest={tmp_path / 'never'}", "-t", "x:1",
                             "--progress", "quiet", cache=tmp_path / "cache", env=env,
                             check=False)  # fmt: skip
            assert missing.returncode == 1
            line = missing.stderr.strip()
            assert line.startswith(
                f"uvdock: error: docker-daemon:{name}: no image matches linux/arm64"
            )
            assert f"`docker pull --platform OS/ARCH {name}`" in line
            assert "\n" not in line

        docker("pull", "--quiet", "--platform", "linux/arm64", name, env=env)
        layout = tmp_path / "layout"
        data = json.loads(
            uvdock(
                str(root),
                "--base-image",
                f"docker-daemon:{name}",
                *both,
                "--output",
                f"type=oci,dest={layout}",
                "-t",
                "x:1",
                "--format",
                "json",
                cache=tmp_path / "cache",
                env=env,
            ).stdout
        )
        # The base layers are the registry's own compressed blobs, as the engine pulled them.
        expected = _registry_layers(name)
        for image in data["data"]["platforms"]:
            layers = _manifest_layers(layout, image["digest"])
            base_layers = expected[image["platform"]]
            assert [layer["digest"] for layer in layers[: len(base_layers)]] == base_layers
            assert {layer["mediaType"] for layer in layers} == {
                "application/vnd.oci.image.layer.v1.tar+gzip"
            }
        assert sorted(p["platform"] for p in data["data"]["platforms"]) == [
            "linux/amd64", "linux/arm64"
        ]  # fmt: skip
    finally:
        docker("image", "rm", "-f", name, env=env, check=False)


def test_classic_store_layers_stay_uncompressed_and_match_the_engines(
    project_copy: CopyProject, tmp_path: Path
) -> None:
    """The classic store saves diffs: the image's base layers are those tars, digest = diff_id."""
    env = ENGINES["classic"]
    root = project_copy("fastapi-app")
    layout = tmp_path / "layout"
    done = uvdock(str(root), "--base-image", f"docker-daemon:{STANDIN}", "-t", "x:1",
                  "--output", f"type=oci,dest={layout}", "--format", "json",
                  cache=tmp_path / "cache", env=env)  # fmt: skip
    data = json.loads(done.stdout)
    layers = _manifest_layers(layout, data["data"]["platforms"][0]["digest"])
    base_layers = root_layers(STANDIN, env)
    assert [layer["digest"] for layer in layers[: len(base_layers)]] == base_layers
    assert {layer["mediaType"] for layer in layers[: len(base_layers)]} == {
        "application/vnd.oci.image.layer.v1.tar"
    }
    for layer in layers[: len(base_layers)]:  # the blob really is that tar
        blob = layout / "blobs" / "sha256" / layer["digest"].split(":")[1]
        assert "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest() == layer["digest"]
