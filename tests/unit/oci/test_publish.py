"""The daemonless engine's sinks, with docker replaced by an injected runner."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_runner import FakeRunner
from tests.unit.oci.images import small_image
from uvdock._proc import ProcessResult
from uvdock.errors import UvdockError
from uvdock.oci.base import BaseImage, host_platform
from uvdock.oci.blobs import BlobStore
from uvdock.oci.image import BuiltImage
from uvdock.oci.model import JSONBlob, canonical_json
from uvdock.oci.publish import Layout, Load, publish, publisher_for


def _built(store: BlobStore) -> tuple[JSONBlob, BuiltImage]:
    image = small_image(store, platform=host_platform())
    manifest = JSONBlob(data=store.read_bytes(image.manifest.digest), descriptor=image.manifest)
    config = json.loads(manifest.data)["config"]
    config_blob = JSONBlob.encode(image.config, media_type=config["mediaType"])
    assert canonical_json(image.config) == store.read_bytes(config["digest"])
    base = BaseImage(reference="example/base:1", platform=host_platform(),
                     manifest_digest="sha256:" + "0" * 64, config={}, layers=())  # fmt: skip
    built = BuiltImage(base=base, manifest=manifest, config=config_blob, layers=image.layers,
                       size=image.manifest.size)  # fmt: skip
    return manifest, built


def test_load_sends_only_the_layers_the_engine_lacks(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "cache")
    top, built = _built(store)
    bottom = json.loads(built.config.data)["rootfs"]["diff_ids"][:1]
    sent: list[int] = []

    class Runner(FakeRunner):
        def __call__(self, argv: Sequence[str], **kwargs: Any) -> ProcessResult:
            if argv[1] == "load":
                with tarfile.open(argv[-1]) as archive:
                    blobs = [m for m in archive.getnames() if m.startswith("blobs/sha256/")]
                    sent.append(len(blobs))
            return super().__call__(argv, **kwargs)

    runner = Runner({("image", "inspect"): (0, json.dumps(bottom), ""), ("load",): (0, "", "")})
    events: list[str] = []
    sink = Load(store=store, tag="example/app:1", epoch=0, on_event=events.append, runner=runner)
    sink.publish(top, [built])
    assert [call[0] for call in runner.calls] == ["image", "load"]
    assert events == [
        f"loaded example/app:1 ({host_platform()}) into the local engine (1 of 2 layers sent)"
    ]
    assert sent == [3]  # manifest, config, the app's layer: not the base's, which the engine has


def test_a_refused_partial_load_loads_the_whole_image_then_fails_in_one_line(
    tmp_path: Path,
) -> None:
    store = BlobStore(tmp_path / "cache")
    top, built = _built(store)
    runner = FakeRunner({("load",): (1, "", "no such layer")})
    sink = Load(store=store, tag="example/app:1", epoch=0, on_event=print, runner=runner)
    with pytest.raises(UvdockError, match="docker load failed: no such layer"):
        sink.publish(top, [built])
    assert [call[0] for call in runner.calls] == ["image", "load"]  # nothing shared: once


def test_an_unwritable_layout_is_one_error(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "cache")
    top, built = _built(store)
    blocker = tmp_path / "file"
    blocker.write_text("")
    sink = publisher_for("oci", store=store, tag="x:1", dest=blocker / "layout", epoch=0,
                         client_for=pytest.fail, on_event=print)  # fmt: skip
    assert isinstance(sink, Layout)
    with pytest.raises(UvdockError, match="cannot write"):
        publish(sink, top, [built], dest=blocker / "layout")


def test_load_runs_the_docker_that_uvdock_docker_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same docker as every other call (DockerCLI, docker-daemon: bases): $UVDOCK_DOCKER."""
    monkeypatch.setenv("UVDOCK_DOCKER", "/opt/docker/bin/docker")
    store = BlobStore(tmp_path / "cache")
    top, built = _built(store)
    programs: list[str] = []

    class Runner(FakeRunner):
        def __call__(self, argv: Sequence[str], **kwargs: Any) -> ProcessResult:
            programs.append(argv[0])
            return super().__call__(argv, **kwargs)

    runner = Runner({("load",): (0, "", "")})
    Load(store=store, tag="example/app:1", epoch=0, on_event=print, runner=runner).publish(
        top, [built]
    )
    assert programs == ["/opt/docker/bin/docker", "/opt/docker/bin/docker"]
