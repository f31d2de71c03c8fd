"""`uvdock build --engine oci`: daemonless, two platforms, against the real registry and engine.

The image is assembled without a Docker daemon (the engine only runs the
results), pushed to the registry on 127.0.0.1:5000, checked with skopeo and
umoci, and run with docker on amd64 and on arm64 under qemu.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.docker import IMAGE_PREFIX, REGISTRY, docker, http_json, running
from tests.integration.fault_proxy import Fault, FaultProxy

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("engine")]
CopyProject = Callable[[str], Path]


def uvdock(
    *args: str, cache: Path, check: bool = True, image_prefix: str | None = IMAGE_PREFIX
) -> subprocess.CompletedProcess[str]:
    """``uvdock build ... --engine oci`` with its own cache (the stand-in images by default)."""
    uv = os.environ.get("UV") or shutil.which("uv") or "uv"
    env = {**os.environ, "UV": uv, "XDG_CACHE_HOME": str(cache)}
    prefix = ["--image-prefix", image_prefix] if image_prefix else []
    done = subprocess.run(
        [sys.executable, "-m", "uvdock", "build", *args, "--engine", "oci", *prefix],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, done.stderr
    return done


def build_json(*args: str, cache: Path) -> Any:
    return json.loads(uvdock(*args, "--format", "json", cache=cache).stdout)["data"]


def skopeo_raw(ref: str) -> Any:
    done = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", ref],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_two_platform_push_runs_on_both(project_copy: CopyProject, tmp_path: Path) -> None:
    root = project_copy("fastapi-app")
    ref = f"{REGISTRY}/uvdock-test/oci-example:{uuid.uuid4().hex[:12]}"
    data = build_json(str(root), "--platform", "linux/amd64,linux/arm64", "--push", "-t", ref,
                      cache=tmp_path / "cache")  # fmt: skip
    index = skopeo_raw(f"docker://{ref}")
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    archs = [m["platform"]["architecture"] for m in index["manifests"]]
    assert archs == ["amd64", "arm64"]
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                         capture_output=True, check=True).stdout  # fmt: skip
    assert data["digest"] == "sha256:" + hashlib.sha256(raw).hexdigest()
    for arch in ("amd64", "arm64"):
        docker("pull", "--platform", f"linux/{arch}", ref)
        with running(ref, "--platform", f"linux/{arch}", ready="/health") as (cid, url):
            assert http_json(url + "/health") == (200, {"status": "ok"})
            status, version = http_json(url + "/version")
            assert status == 200
            assert isinstance(version, dict)
            assert version["version"] == "0.1.0"  # the project is installed, with metadata
            assert docker("exec", cid, "uname", "-m").stdout.strip() == (
                "x86_64" if arch == "amd64" else "aarch64"
            )
            uid = docker("exec", cid, "grep", "^Uid:", "/proc/1/status").stdout.split()[1]
            assert uid == "10001"
            # No uv, no build backend; the venv's python is the base's interpreter.
            probe = "import importlib.util as u; print(u.find_spec('hatchling'), u.find_spec('uv'))"
            assert docker("exec", cid, "python", "-c", probe).stdout.strip() == "None None"
        docker("image", "rm", "-f", ref, check=False)


def test_reproducible_layout_and_source_edit(project_copy: CopyProject, tmp_path: Path) -> None:
    root = project_copy("fastapi-app")
    platforms = ("--platform", "linux/amd64,linux/arm64")
    first = build_json(str(root), *platforms, "--output", f"type=oci,dest={tmp_path / 'a'}",
                       "-t", "example:1", cache=tmp_path / "cache-a")  # fmt: skip
    second = build_json(str(root), *platforms, "--output", f"type=oci,dest={tmp_path / 'b'}",
                        "-t", "example:1", cache=tmp_path / "cache-b")  # fmt: skip
    assert first["digest"] == second["digest"]  # clean caches, same inputs: same index
    for name in ("a", "b"):
        index = skopeo_raw(f"oci:{tmp_path / name}:1")
        assert len(index["manifests"]) == 2
    # A single-platform layout unpacks with umoci (an independent implementation).
    build_json(str(root), "--platform", "linux/amd64", "--output",
               f"type=oci,dest={tmp_path / 'single'}", "-t", "example:1",
               cache=tmp_path / "cache-a")  # fmt: skip
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--rootless", "--image", f"{tmp_path / 'single'}:1",
                    str(bundle)], check=True, capture_output=True)  # fmt: skip
    venv = bundle / "rootfs" / "app" / ".venv"
    assert (venv / "bin" / "uvicorn").read_text().startswith("#!/app/.venv/bin/python\n")
    assert (venv / "bin" / "python").readlink() == Path("/usr/local/bin/python3.13")
    assert list((venv / "lib" / "python3.13" / "site-packages" / "app").glob("__pycache__/*.pyc"))

    # A one-line source edit: every layer but the project's is reused as is.
    main = root / "app" / "main.py"
    main.write_text(main.read_text() + "\n# edited\n")
    third = build_json(str(root), *platforms, "--output", f"type=oci,dest={tmp_path / 'a'}",
                       "-t", "example:2", cache=tmp_path / "cache-a")  # fmt: skip
    assert all(p["reused_dependencies"] for p in third["platforms"])
    for before, after in zip(
        first["platforms"],
        third["platforms"],
        strict=True,
    ):
        old_layers = _layers(tmp_path / "a", before["digest"])
        new_layers = _layers(tmp_path / "a", after["digest"])
        assert old_layers[:-1] == new_layers[:-1]
        assert old_layers[-1] != new_layers[-1]


def test_a_source_edit_patches_the_last_install_exactly(
    project_copy: CopyProject, tmp_path: Path
) -> None:
    """An edit skips the wheel build, and gives the digest a full build from scratch gives."""
    root = project_copy("fastapi-app")
    tag = f"uvdock-test/oci-edit:{uuid.uuid4().hex[:8]}"

    def build(cache: str, *output: str) -> subprocess.CompletedProcess[str]:
        return uvdock(str(root), *output, "-t", tag, "--format", "json", cache=tmp_path / cache)

    def layout(cache: str) -> tuple[str, int | None]:
        """(digest, files patched) of a build into an OCI layout."""
        data = json.loads(build(cache, "--output", f"type=oci,dest={tmp_path / 'out'}").stdout)
        return data["data"]["digest"], data["data"]["platforms"][0]["patched_files"]

    layout("warm")  # the full build, remembered
    main = root / "app" / "main.py"
    marker = uuid.uuid4().hex
    main.write_text(
        main.read_text() + f'\n\n@app.get("/edited")\ndef edited() -> dict[str, str]:\n'
        f'    return {{"marker": "{marker}"}}\n'
    )
    patched, files = layout("warm")
    assert files == 1
    assert patched == layout(f"fresh-{marker}")[0]  # byte for byte what a full build gives

    # Changes a patch cannot prove take the full path, and still match a fresh build.
    (root / "app" / "extra.py").write_text("VALUE = 1\n")
    added, files = layout("warm")
    assert files is None
    assert added == layout("fresh-added")[0]
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', 'version = "0.2.0"'))
    bumped, files = layout("warm")
    assert files is None
    assert bumped == layout("fresh-bumped")[0]

    # --load sends only the layers the engine lacks, and the image serves the edit.
    try:
        build("warm", "--load")
        main.write_text(main.read_text().replace(marker, marker[::-1]))
        loaded = uvdock(str(root), "--load", "-t", tag, cache=tmp_path / "warm")
        assert "1 edited file(s) patched" in loaded.stderr
        assert re.search(r"\(1 of \d+ layers sent\)", loaded.stderr), loaded.stderr
        with running(tag, ready="/health") as (_, url):
            assert http_json(url + "/edited") == (200, {"marker": marker[::-1]})
            version = http_json(url + "/version")[1]
            assert isinstance(version, dict)
            assert version["version"] == "0.2.0"
    finally:
        docker("image", "rm", "-f", tag, check=False)


def test_file_times_and_the_clock_do_not_change_the_digest(
    project_copy: CopyProject, tmp_path: Path
) -> None:
    """A checkout made at another time of day (other mtimes), built later: the same image."""
    first = project_copy("fastapi-app")
    second = tmp_path / "elsewhere" / "fastapi-app"
    shutil.copytree(first, second)
    for path in [second, *second.rglob("*")]:
        os.utime(path, (978_307_200, 978_307_200 + 3_677 * len(path.name)))  # 2001, any hour
    digests = []
    for root, cache in ((first, "cache-a"), (second, "cache-b")):
        data = build_json(str(root), "--output", f"type=oci,dest={tmp_path / cache}-out",
                          "-t", "example:1", cache=tmp_path / cache)  # fmt: skip
        digests.append(data["digest"])
    assert digests[0] == digests[1]
    blobs = tmp_path / "cache-a-out" / "blobs" / "sha256"
    manifest = json.loads((blobs / digests[0].split(":")[1]).read_text())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_text())
    assert config["created"] == "1970-01-01T00:00:00Z"  # SOURCE_DATE_EPOCH, not the clock


def _layers(layout: Path, digest: str) -> list[str]:
    manifest = json.loads((layout / "blobs" / "sha256" / digest.split(":")[1]).read_text())
    return [layer["digest"] for layer in manifest["layers"]]


# What uvdock itself puts in an image, pinned per fixture in oci_pins.json
# (`--update-golden` rewrites it). The stand-in base images are built on each
# machine by the test bed, so their digests (and with them the manifest's and
# the config's) differ between machines: what is pinned is everything uvdock
# writes on top. Built with --no-bytecode, as whether .pyc files are compiled
# depends on a Python of the target's version being on the machine. A
# package's own layer is not pinned: its wheel names the build backend's
# version ("Generator: hatchling 1.27.0"), which is resolved at build time.
PINS = Path(__file__).with_name("oci_pins.json")
PINNED_FIXTURES = {"flask-app": False, "uv-workspace": True, "cli-tool": True}  # packaged?
PINNED_CONFIG = ("Cmd", "Entrypoint", "Env", "ExposedPorts", "Healthcheck", "Labels", "User",
                 "WorkingDir")  # fmt: skip


def _uvdock_parts(layout: Path, image: dict[str, Any], *, packaged: bool) -> dict[str, Any]:
    """The parts of one platform's image that uvdock writes, not the base."""
    blobs = layout / "blobs" / "sha256"
    manifest = json.loads((blobs / image["digest"].split(":")[1]).read_text())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_text())
    history = [h for h in config["history"] if h.get("comment") == "uvdock oci engine"]
    count = len(history)
    ours = count - 1 if packaged else count
    mine = [not h["created_by"].startswith("uvdock: dependencies") for h in history[:ours]]
    diff_ids = config["rootfs"]["diff_ids"][-count:][:ours]
    layers = [layer["digest"] for layer in manifest["layers"][-count:][:ours]]
    labels = config["config"]["Labels"]
    annotations = manifest["annotations"]
    return {
        "python": image["python"],
        "created": config["created"],
        "config": {key: config["config"].get(key) for key in PINNED_CONFIG}
        # The stand-in's own labels name the test bed's recipe.
        | {"Labels": {k: v for k, v in labels.items() if not k.startswith("io.uvdock.standin")}},
        "history": [h["created_by"] for h in history],
        "annotations": {k: v for k, v in annotations.items() if not k.endswith("base.digest")},
        # The dependency layers hold what uv writes (activate scripts, pyvenv.cfg with the
        # base's Python): they follow the uv and the stand-in of the machine, not uvdock.
        "diff_ids": [d for d, kept in zip(diff_ids, mine, strict=True) if kept],
        "layers": [digest for digest, kept in zip(layers, mine, strict=True) if kept],
    }


@pytest.mark.parametrize("name", sorted(PINNED_FIXTURES))
def test_what_uvdock_writes_is_pinned(
    name: str, project_copy: CopyProject, tmp_path: Path, update_golden: bool
) -> None:
    """Config, layers and annotations of uvdock's making, as recorded (issue 13's refactor)."""
    root = project_copy(name)
    layout = tmp_path / "layout"
    data = build_json(str(root), "--platform", "linux/amd64,linux/arm64", "--no-bytecode",
                      "--source-date-epoch", "1700000000", "--output", f"type=oci,dest={layout}",
                      "-t", f"pins/{name}:1", cache=tmp_path / "cache")  # fmt: skip
    found = {image["platform"]: _uvdock_parts(layout, image, packaged=PINNED_FIXTURES[name])
             for image in data["platforms"]}  # fmt: skip
    pins = json.loads(PINS.read_text()) if PINS.is_file() else {}
    if update_golden:
        pins[name] = found
        PINS.write_text(json.dumps(pins, indent=2, sort_keys=True) + "\n")
    assert name in pins, "no pins recorded: run with --update-golden"
    for platform, parts in found.items():
        expected = pins[name][platform]
        assert parts["python"] == expected["python"], "another stand-in Python: --update-golden"
        assert parts == expected, platform


@pytest.mark.usefixtures("fixture_servers")
def test_a_package_without_a_wheel_for_the_platform(
    project_copy: CopyProject, tmp_path: Path
) -> None:
    root = project_copy("native-sdist")
    done = uvdock(str(root), "--platform", "linux/arm64", "--output",
                  f"type=oci,dest={tmp_path / 'x'}", "-t", "x:1",
                  cache=tmp_path / "cache", check=False)  # fmt: skip
    assert done.returncode == 1
    assert "uvdock-native-demo==0.1.0 has no wheel for aarch64-manylinux_2_40" in done.stderr
    assert "--engine docker" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x").exists()


def test_load_into_the_engine(project_copy: CopyProject, tmp_path: Path) -> None:
    root = project_copy("fastapi-app")
    tag = f"uvdock-test/oci-load:{uuid.uuid4().hex[:8]}"
    try:
        uvdock(str(root), "--load", "-t", tag, cache=tmp_path / "cache")
        out = docker("run", "--rm", tag, "python", "-c", "import app.main; print('ok')").stdout
        assert out.strip() == "ok"
    finally:
        docker("image", "rm", "-f", tag, check=False)


# Fixtures whose locked dependencies have wheels for every platform: packages
# (uv_build, a hatchling workspace) and projects that are not packages.
DAEMONLESS_FIXTURES = ("cli-tool", "uv-workspace", "fastapi-virtual", "flask-app", "django-site")


@pytest.mark.parametrize("name", DAEMONLESS_FIXTURES)
def test_fixture_builds_and_runs_daemonless(
    name: str, project_copy: CopyProject, tmp_path: Path
) -> None:
    from tests.integration.test_images import check_fixture  # noqa: PLC0415
    from tests.support.fixtures import FIXTURES  # noqa: PLC0415

    root = project_copy(name)
    tag = f"uvdock-test/oci-{name}:{uuid.uuid4().hex[:8]}"
    try:
        uvdock(str(root), "--load", "-t", tag, cache=tmp_path / "cache")
        check_fixture(FIXTURES[name], tag)
    finally:
        docker("image", "rm", "-f", tag, check=False)


@pytest.mark.usefixtures("fixture_servers")
def test_a_private_index_takes_credentials_from_the_environment_only(
    project_copy: CopyProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.test_images import check_fixture  # noqa: PLC0415
    from tests.support.fixtures import FIXTURES  # noqa: PLC0415
    from tests.support.local_index import PRIVATE_PASSWORD  # noqa: PLC0415
    from tests.support.servers import private_index_env  # noqa: PLC0415

    root = project_copy("private-index")
    tag = f"uvdock-test/oci-private:{uuid.uuid4().hex[:8]}"
    # A fresh uv cache: the wheel must come from the index, through its credentials.
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    denied = uvdock(str(root), "--load", "-t", tag, cache=tmp_path / "cache", check=False)
    assert denied.returncode == 1
    assert "refused uv without credentials" in denied.stderr
    assert "UV_INDEX_PRIVATE_USERNAME and UV_INDEX_PRIVATE_PASSWORD" in denied.stderr
    assert "Traceback" not in denied.stderr
    # Set but wrong: the hint must not say to export what is exported (issue 12).
    for name, value in private_index_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UV_INDEX_PRIVATE_PASSWORD", "not-the-password")
    refused = uvdock(str(root), "--load", "-t", tag, cache=tmp_path / "cache", check=False)
    assert refused.returncode == 1
    assert (
        "refused the credentials in UV_INDEX_PRIVATE_USERNAME and UV_INDEX_PRIVATE_PASSWORD"
        in refused.stderr
    )
    assert "export" not in refused.stderr
    assert "not-the-password" not in refused.stderr
    for name, value in private_index_env().items():
        monkeypatch.setenv(name, value)
    try:
        uvdock(str(root), "--load", "-t", tag, cache=tmp_path / "cache")
        check_fixture(FIXTURES["private-index"], tag)
        saved = subprocess.run(["docker", "image", "save", tag], capture_output=True, check=True)
        with tarfile.open(fileobj=io.BytesIO(saved.stdout)) as archive:
            for member in archive.getmembers():
                data = (archive.extractfile(member) or io.BytesIO()).read()
                if data[:2] == b"\x1f\x8b":
                    data = gzip.decompress(data)
                assert PRIVATE_PASSWORD.encode() not in data, member.name  # layers, config
    finally:
        docker("image", "rm", "-f", tag, check=False)


def _no_fault(method: str, path: str) -> tuple[str, int] | None:
    del method, path
    return None


def test_a_failed_push_leaves_no_tag_and_a_rerun_pushes_only_what_is_missing(
    project_copy: CopyProject, tmp_path: Path, proxy: Callable[[Fault], FaultProxy]
) -> None:
    """The tag goes last: when it cannot be written, no tag points at a half image."""
    root = project_copy("fastapi-app")
    repo, tag = f"uvdock-test/oci-fault-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:10]

    def tag_put_fails(method: str, path: str) -> tuple[str, int] | None:
        if method == "PUT" and path.split("?", maxsplit=1)[0].endswith(f"/manifests/{tag}"):
            return ("status", 500)
        return None

    failing = proxy(tag_put_fails)
    done = uvdock(str(root), "--platform", "linux/amd64,linux/arm64", "--push",
                  "-t", f"{failing.host}/{repo}:{tag}", cache=tmp_path / "cache",
                  check=False)  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "500" in done.stderr or "unavailable" in done.stderr.lower(), done.stderr
    missing = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                              f"docker://{REGISTRY}/{repo}:{tag}"],
                             capture_output=True, check=False)  # fmt: skip
    assert missing.returncode != 0  # no tag
    blobs_pushed = [p for m, p, _ in failing.log if m == "POST" and "/blobs/uploads/" in p]
    assert blobs_pushed  # the blobs went up before the tag failed

    recording = proxy(_no_fault)
    uvdock(str(root), "--platform", "linux/amd64,linux/arm64", "--push",
           "-t", f"{recording.host}/{repo}:{tag}", cache=tmp_path / "cache")  # fmt: skip
    uploads = [p for m, p, _ in recording.log if m == "POST" and "/blobs/uploads/" in p]
    assert uploads == []  # every blob was already there
    assert skopeo_raw(f"docker://{REGISTRY}/{repo}:{tag}")["manifests"]


def test_a_rebuild_asks_the_base_registry_nothing_until_pull(
    project_copy: CopyProject, tmp_path: Path, proxy: Callable[[Fault], FaultProxy]
) -> None:
    """The base tag's resolution is reused for a while; manifests and blobs by digest for good."""
    root = project_copy("fastapi-app")
    recording = proxy(_no_fault)
    prefix = f"{recording.host}/standin"

    def build(*extra: str) -> list[tuple[str, str]]:
        del recording.log[:]
        uvdock(str(root), "--output", f"type=oci,dest={tmp_path / 'out'}", "-t", "x:1", *extra,
               cache=tmp_path / "cache", image_prefix=prefix)  # fmt: skip
        return [(method, path) for method, path, _ in recording.log]

    first = build()
    assert any("/manifests/3.13-slim-trixie" in path for _, path in first)
    assert any("/blobs/sha256:" in path for _, path in first)
    main = root / "app" / "main.py"
    main.write_text(main.read_text() + "# edited\n")
    assert build() == []  # nothing asked: tag remembered, everything else by digest
    pulled = build("--pull")
    assert [path for _, path in pulled if "/manifests/" in path] == [
        "/v2/standin/library/python/manifests/3.13-slim-trixie"
    ]
    assert not any("/blobs/" in path for _, path in pulled)


def test_a_terminal_shows_progress_bars_for_pulls_installs_layers_and_uploads(
    project_copy: CopyProject, tmp_path: Path
) -> None:
    root = project_copy("fastapi-app")
    ref = f"{REGISTRY}/uvdock-test/oci-bars:{uuid.uuid4().hex[:8]}"
    uv = os.environ.get("UV") or shutil.which("uv") or "uv"
    command = shlex.join([sys.executable, "-m", "uvdock", "build", str(root), "--engine", "oci",
                          "--push", "-t", ref, "--image-prefix", IMAGE_PREFIX])  # fmt: skip
    env = {**os.environ, "UV": uv, "XDG_CACHE_HOME": str(tmp_path / "cache"), "COLUMNS": "120"}
    # `script` gives the build a pseudo-terminal, as a developer's shell would.
    done = subprocess.run(["script", "-q", "-e", "-c", command, "/dev/null"],
                          capture_output=True, env=env, check=False)  # fmt: skip
    screen = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", done.stdout).decode(errors="replace")
    assert done.returncode == 0, screen[-2000:]
    bars = [line for line in screen.replace("\r", "\n").splitlines() if "\u2501" in line]
    assert any(re.search(r"pull \w{12} .* MB", line) for line in bars), bars[:5]
    assert any("install linux/amd64 dependencies (uv)" in line for line in bars)
    assert any("layer fastapi-app" in line for line in bars)
    assert any(re.search(r"push \w{12} .*(kB|MB)", line) for line in bars)
    assert "built " + ref in screen


def test_base_image_from_an_oci_layout(project_copy: CopyProject, tmp_path: Path) -> None:
    """No registry for the base: ``--base-image oci:DIR:TAG`` (here written by skopeo)."""
    base = tmp_path / "base"
    subprocess.run(
        ["skopeo", "copy", "--all", "--src-tls-verify=false",
         f"docker://{IMAGE_PREFIX}/library/python:3.13-slim-trixie", f"oci:{base}:slim"],
        check=True, capture_output=True,
    )  # fmt: skip
    root = project_copy("fastapi-app")
    tag = f"uvdock-test/oci-layout-base:{uuid.uuid4().hex[:8]}"
    uvdock(str(root), "--load", "-t", tag, "--base-image", f"oci:{base}:slim",
           cache=tmp_path / "cache", image_prefix=None)  # fmt: skip
    try:
        out = docker("run", "--rm", tag, "python", "-c", "import app.main; print('ok')").stdout
        assert out.strip() == "ok"
        labels = json.loads(docker("image", "inspect", tag).stdout)[0]["Config"]["Labels"]
        assert labels["org.opencontainers.image.base.name"] == f"oci:{base}:slim"
    finally:
        docker("image", "rm", "-f", tag, check=False)


def test_an_unusable_cache_is_one_clear_line(project_copy: CopyProject, tmp_path: Path) -> None:
    root = project_copy("fastapi-app")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    done = uvdock(str(root), "--output", f"type=oci,dest={tmp_path / 'out'}", "-t", "x:1",
                  cache=blocker / "cache", check=False)  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    error = [line for line in done.stderr.splitlines() if line.startswith("uvdock: error:")]
    assert len(error) == 1
    assert "cannot use" in error[0]
    assert str(blocker) in error[0]
    assert "must be writable directories" in error[0]


def test_an_unwritable_destination_is_one_clear_line(
    project_copy: CopyProject, tmp_path: Path
) -> None:
    root = project_copy("fastapi-app")
    done = uvdock(str(root), "--output", "type=oci,dest=/proc/uvdock-nope", "-t", "x:1",
                  cache=tmp_path / "cache", check=False)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "uvdock: error: cannot write /proc/uvdock-nope (No such file or directory); "
        "check that the destination's directory exists and is writable"
    )
    assert "Traceback" not in done.stderr


def test_runtime_debian_packages_are_refused_not_dropped(
    project_copy: CopyProject, tmp_path: Path
) -> None:
    """An image that needs Debian packages at run time is not built without them."""
    root = project_copy("fastapi-app")
    done = uvdock(str(root), "--system-packages", "libpango-1.0-0", "--output",
                  f"type=oci,dest={tmp_path / 'out'}", "-t", "x:1", cache=tmp_path / "cache",
                  check=False)  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "needs Debian packages at run time (libpango-1.0-0)" in done.stderr
    assert "--engine docker" in done.stderr
    assert not (tmp_path / "out").exists()
