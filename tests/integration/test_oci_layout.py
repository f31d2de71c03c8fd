"""uvdock's OCI layouts and docker archives, read by independent tools.

umoci unpacks the layouts, skopeo inspects and copies them, and the real
Docker Engine loads the archive and runs the image. Nothing here uses
uvdock to check uvdock's output.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.docker import IMAGE_PREFIX, docker, remove_image
from tests.unit.oci.images import APP_FILES, BASE_FILES, EPOCH, small_image, two_platform_index
from uvdock.oci.blobs import BlobStore
from uvdock.oci.dockerarchive import write_docker_archive
from uvdock.oci.documents import History, build_config, build_manifest, config_env, validate_config
from uvdock.oci.layout import read_layout
from uvdock.oci.layoutwrite import write_layout
from uvdock.oci.model import OCI_CONFIG, OCI_MANIFEST, JSONBlob, rfc3339
from uvdock.oci.tarlayer import FileEntry, write_layer

pytestmark = [pytest.mark.docker]


def tool(*argv: str) -> str:
    binary = shutil.which(argv[0])
    assert binary, f"{argv[0]} is not installed (the OCI tests need umoci and skopeo)"
    done = subprocess.run(
        [binary, *argv[1:]], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def inspect(*argv: str) -> Any:
    return json.loads(tool("skopeo", "inspect", *argv))


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "cache")


def test_umoci_unpacks_the_layout(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store)
    layout = tmp_path / "layout"
    write_layout(layout, store=store, image=image.manifest, ref_name="v1")
    bundle = tmp_path / "bundle"
    tool("umoci", "unpack", "--rootless", "--image", f"{layout}:v1", str(bundle))
    rootfs = bundle / "rootfs"
    for name, content in {**BASE_FILES, **APP_FILES}.items():
        if name == "etc/obsolete.conf":
            assert not (rootfs / name).exists(), "the app layer's whiteout was not applied"
            continue
        assert (rootfs / name).read_bytes() == content, name
    modes = {
        name: stat.S_IMODE((rootfs / name).lstat().st_mode)
        for name in ("usr/bin/hello", "app/main.py", "app/data", "tmp")
    }
    assert modes == {"usr/bin/hello": 0o755, "app/main.py": 0o644, "app/data": 0o755, "tmp": 0o1777}
    assert (rootfs / "usr/bin/hi").readlink() == Path("hello")
    runtime = json.loads((bundle / "config.json").read_text())
    assert runtime["process"]["args"] == ["/usr/bin/hello"]
    assert runtime["process"]["cwd"] == "/app"
    assert "PATH=/usr/bin:/bin" in runtime["process"]["env"]


def test_skopeo_accepts_a_single_image_layout(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store)
    layout = tmp_path / "layout"
    write_layout(layout, store=store, image=image.manifest, ref_name="v1")
    reference = f"oci:{layout}:v1"
    described = inspect(reference)
    assert described["Digest"] == image.manifest.digest
    assert (described["Architecture"], described["Os"]) == ("amd64", "linux")
    assert described["Layers"] == [layer.digest for layer in image.layers]
    assert described["Created"] == "2023-11-14T22:13:20Z"
    raw = tool("skopeo", "inspect", "--raw", reference)
    assert raw.encode() == store.read_bytes(image.manifest.digest)  # the exact bytes
    assert json.loads(raw)["mediaType"] == OCI_MANIFEST
    assert inspect("--config", reference) == image.config


def test_skopeo_lists_both_platforms_of_an_index(tmp_path: Path, store: BlobStore) -> None:
    index = two_platform_index(store)
    layout = tmp_path / "layout"
    write_layout(layout, store=store, image=index, ref_name="multi")
    reference = f"oci:{layout}:multi"
    raw = json.loads(tool("skopeo", "inspect", "--raw", reference))
    assert [m["platform"] for m in raw["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
    ]
    arm = inspect("--override-arch", "arm64", reference)
    assert arm["Architecture"] == "arm64"
    copy = tmp_path / "copy"
    tool("skopeo", "copy", "--quiet", "--all", reference, f"oci:{copy}:multi")
    assert {i.descriptor.platform for i in read_layout(copy).images} == {
        i.descriptor.platform for i in read_layout(layout).images
    }


def test_skopeo_reads_the_docker_archive(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store)
    archive = tmp_path / "image.tar"
    write_docker_archive(archive, store=store, image=image.manifest, tags=["uvdock/demo:1"])
    described = inspect(f"docker-archive:{archive}")
    assert (described["Architecture"], described["Os"]) == ("amd64", "linux")
    assert len(described["Layers"]) == 2
    assert inspect("--config", f"docker-archive:{archive}") == image.config
    # and back again into a layout umoci unpacks: the layers survive the round trip
    copy = tmp_path / "copy"
    tool("skopeo", "copy", "--quiet", f"docker-archive:{archive}", f"oci:{copy}:rt")
    tool("umoci", "unpack", "--rootless", "--image", f"{copy}:rt", str(tmp_path / "bundle"))
    main = tmp_path / "bundle" / "rootfs" / "app" / "main.py"
    assert main.read_bytes() == APP_FILES["app/main.py"]


@pytest.mark.usefixtures("engine")
def test_docker_loads_the_archive_and_runs_it(tmp_path: Path, store: BlobStore) -> None:
    base_dir = tmp_path / "base"
    source = f"docker://{IMAGE_PREFIX}/library/python:3.13-slim-trixie"
    tool("skopeo", "copy", "--quiet", "--src-tls-verify=false", "--override-arch", "amd64",
         source, f"oci:{base_dir}:base")  # fmt: skip
    base_layout = read_layout(base_dir)
    base = base_layout.image(ref_name="base")
    base_layout.import_into(store, base)

    layer = write_layer(
        [FileEntry(path="/uvdock/hello.txt", source=b"hello from a daemonless layer\n")],
        store,
        epoch=EPOCH,
    )
    config = build_config(
        base.config,
        diff_ids=[layer.diff_id],
        history=[History(created_by="uvdock: test layer")],
        created=rfc3339(EPOCH),
        env={"UVDOCK_TEST": "1", "PATH": config_env(base.config)["PATH"]},
        labels={"org.opencontainers.image.title": "uvdock-oci-test"},
    )
    config_blob = JSONBlob.encode(config, media_type=OCI_CONFIG)
    store.put_bytes(config_blob.data)
    manifest = build_manifest(
        config=config_blob.descriptor, layers=[*base.layers, layer.descriptor()]
    )
    validate_config(config, manifest=manifest)
    manifest_blob = JSONBlob.encode(manifest, media_type=OCI_MANIFEST)
    store.put_bytes(manifest_blob.data)

    tag = f"localhost/uvdock-oci-test:{uuid.uuid4().hex[:12]}"
    archive = tmp_path / "image.tar"
    write_docker_archive(archive, store=store, image=manifest_blob.descriptor, tags=[tag])
    try:
        loaded = docker("load", "-i", str(archive))
        assert f"Loaded image: {tag}" in loaded.stdout
        run = docker("run", "--rm", tag, "cat", "/uvdock/hello.txt")
        assert run.stdout == "hello from a daemonless layer\n"
        script = "import os; print(os.environ['UVDOCK_TEST'])"
        python = docker("run", "--rm", tag, "python3", "-c", script)
        assert python.stdout.strip() == "1"
        details = json.loads(docker("image", "inspect", tag).stdout)[0]
        assert details["Id"] == config_blob.descriptor.digest  # Docker's image ID is our config
        assert details["Config"]["Labels"]["org.opencontainers.image.title"] == "uvdock-oci-test"
    finally:
        remove_image(tag)
