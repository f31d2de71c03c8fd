"""OCI layout directories and docker-load archives, checked by reading them back.

The same files are checked by the real tools (umoci, skopeo, docker) in
``tests/integration/test_oci_layout.py``.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.unit.oci.images import EPOCH, small_image, two_platform_index
from uvdock.oci import layout
from uvdock.oci.blobs import BlobStore, CachedBlobMissingError
from uvdock.oci.dockerarchive import ANNOTATION_CONTAINERD_NAME, write_docker_archive
from uvdock.oci.layout import LayoutError, read_layout
from uvdock.oci.layoutwrite import write_layout
from uvdock.oci.model import (
    ANNOTATION_REF_NAME,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    DigestError,
    JSONBlob,
    Platform,
    canonical_json,
)

AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "cache")


def _json(path: Path) -> Any:
    return json.loads(path.read_bytes())


def _check_blobs_hash_to_their_names(root: Path) -> list[str]:
    names = []
    for blob in sorted((root / "blobs" / "sha256").iterdir()):
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
        names.append(blob.name)
    return names


def test_all_names_exist() -> None:
    for name in layout.__all__:
        assert hasattr(layout, name), name


def test_single_manifest_layout(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store)
    dest = tmp_path / "out"
    entry = write_layout(dest, store=store, image=image.manifest, ref_name="v1")
    assert (dest / "oci-layout").read_bytes() == b'{"imageLayoutVersion":"1.0.0"}'
    index = _json(dest / "index.json")
    assert (dest / "index.json").read_bytes() == canonical_json(index)
    assert index == {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [entry.to_json()],
    }
    assert entry.annotations == {ANNOTATION_REF_NAME: "v1"}
    assert entry.digest == image.manifest.digest
    blobs = _check_blobs_hash_to_their_names(dest)
    expected = {image.manifest.digest, *(layer.digest for layer in image.layers)}
    manifest = _json(dest / "blobs" / "sha256" / image.manifest.digest.removeprefix("sha256:"))
    expected.add(manifest["config"]["digest"])
    assert sorted(blobs) == sorted(d.removeprefix("sha256:") for d in expected)


def test_blobs_are_hard_linked_or_copied(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store)
    linked = tmp_path / "linked"
    copied = tmp_path / "copied"
    write_layout(linked, store=store, image=image.manifest, ref_name="v1")
    write_layout(copied, store=store, image=image.manifest, ref_name="v1", link=False)
    hexd = image.layers[0].digest.removeprefix("sha256:")
    source = store.path(image.layers[0].digest).stat()
    assert (linked / "blobs" / "sha256" / hexd).stat().st_ino == source.st_ino
    assert (copied / "blobs" / "sha256" / hexd).stat().st_ino != source.st_ino
    assert (copied / "blobs" / "sha256" / hexd).read_bytes() == store.path(
        image.layers[0].digest
    ).read_bytes()


def test_a_truncated_blob_in_the_layout_is_replaced(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store)
    dest = tmp_path / "out"
    write_layout(dest, store=store, image=image.manifest, ref_name="v1", link=False)
    blob = dest / "blobs" / "sha256" / image.layers[0].digest.removeprefix("sha256:")
    blob.write_bytes(blob.read_bytes()[:10])
    write_layout(dest, store=store, image=image.manifest, ref_name="v1", link=False)
    _check_blobs_hash_to_their_names(dest)


def test_index_json_is_updated_by_ref_name(tmp_path: Path, store: BlobStore) -> None:
    dest = tmp_path / "out"
    first = small_image(store, platform=AMD64).manifest
    second = small_image(store, platform=ARM64).manifest
    write_layout(dest, store=store, image=first, ref_name="v1")
    write_layout(dest, store=store, image=second, ref_name="v2")
    write_layout(dest, store=store, image=second, ref_name="v1")  # move the v1 tag
    write_layout(dest, store=store, image=first)  # untagged, twice: one entry
    write_layout(dest, store=store, image=first)
    entries = _json(dest / "index.json")["manifests"]
    refs = [(e.get("annotations") or {}).get(ANNOTATION_REF_NAME) for e in entries]
    assert refs == ["v2", "v1", None]
    assert [e["digest"] for e in entries] == [second.digest, second.digest, first.digest]


def test_concurrent_tags_into_one_layout_are_all_kept(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store).manifest
    dest = tmp_path / "out"
    refs = [f"r{n}" for n in range(16)]

    def tag(ref: str) -> None:
        write_layout(dest, store=store, image=image, ref_name=ref)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(tag, refs))
    entries = _json(dest / "index.json")["manifests"]
    assert sorted(e["annotations"][ANNOTATION_REF_NAME] for e in entries) == sorted(refs)


def test_index_layout_and_read_back(tmp_path: Path, store: BlobStore) -> None:
    index = two_platform_index(store)
    dest = tmp_path / "multi"
    write_layout(dest, store=store, image=index, ref_name="latest")
    _check_blobs_hash_to_their_names(dest)
    opened = read_layout(dest)
    assert [(i.ref_name, i.descriptor.platform) for i in opened.images] == [
        ("latest", AMD64),
        ("latest", ARM64),
    ]
    arm = opened.image(ref_name="latest", platform=ARM64)
    assert arm.config["architecture"] == "arm64"
    assert arm.descriptor.media_type == OCI_MANIFEST
    assert [layer.digest for layer in arm.layers] == [d["digest"] for d in arm.manifest["layers"]]
    assert arm.config_descriptor.digest == arm.manifest["config"]["digest"]
    with pytest.raises(LayoutError, match="more than one image matches latest"):
        opened.image(ref_name="latest")
    with pytest.raises(LayoutError, match="no image matches nope"):
        opened.image(ref_name="nope")


def test_import_into_another_store(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store)
    dest = tmp_path / "out"
    write_layout(dest, store=store, image=image.manifest, ref_name="v1")
    other = BlobStore(tmp_path / "other-cache")
    opened = read_layout(dest)
    opened.import_into(other, opened.image(ref_name="v1"))
    for layer in image.layers:
        assert other.read_bytes(layer.digest) == store.read_bytes(layer.digest)
    assert other.has(image.manifest.digest)


def test_import_refuses_tampered_or_missing_layers(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store)
    dest = tmp_path / "out"
    write_layout(dest, store=store, image=image.manifest, ref_name="v1", link=False)
    opened = read_layout(dest)
    blob = opened.blob_path(image.layers[1].digest)
    blob.write_bytes(b"tampered")
    with pytest.raises(DigestError):
        opened.import_into(BlobStore(tmp_path / "c1"), opened.image())
    blob.unlink()
    with pytest.raises(LayoutError, match="missing"):
        opened.import_into(BlobStore(tmp_path / "c2"), opened.image())


def test_read_layout_verifies_json_blobs(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store)
    dest = tmp_path / "out"
    write_layout(dest, store=store, image=image.manifest, ref_name="v1", link=False)
    manifest = dest / "blobs" / "sha256" / image.manifest.digest.removeprefix("sha256:")
    manifest.write_bytes(manifest.read_bytes().replace(b'"schemaVersion":2', b'"schemaVersion":3'))
    with pytest.raises(DigestError, match="does not match"):
        read_layout(dest)
    manifest.unlink()
    with pytest.raises(LayoutError, match="is missing"):
        read_layout(dest)


def test_read_layout_refuses_non_layouts(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="oci-layout is missing"):
        read_layout(tmp_path)
    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion": "2.0.0"}')
    (tmp_path / "index.json").write_text('{"manifests": []}')
    with pytest.raises(LayoutError, match="unsupported OCI layout version"):
        read_layout(tmp_path)
    (tmp_path / "oci-layout").write_text("[]")
    with pytest.raises(LayoutError, match="expected a JSON object"):
        read_layout(tmp_path)


def test_read_layout_skips_attestations_and_reads_docker_types(
    tmp_path: Path, store: BlobStore
) -> None:
    image = small_image(store)
    manifest = json.loads(store.read_bytes(image.manifest.digest))
    # the same image as a Docker schema2 manifest, as some registries hand it out
    manifest["mediaType"] = DOCKER_MANIFEST
    for layer in manifest["layers"]:
        layer["mediaType"] = DOCKER_LAYER_GZIP
    docker_blob = JSONBlob.encode(manifest, media_type=DOCKER_MANIFEST)
    store.put_bytes(docker_blob.data)
    attestation = Descriptor(
        media_type=OCI_MANIFEST,
        digest=image.manifest.digest,
        size=image.manifest.size,
        platform=Platform(os="unknown", architecture="unknown"),
        annotations={"vnd.docker.reference.type": "attestation-manifest"},
    )
    index = JSONBlob.encode(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                docker_blob.descriptor.replace(platform=AMD64).to_json(),
                attestation.to_json(),
            ],
        },
        media_type=OCI_INDEX,
    )
    store.put_bytes(index.data)
    dest = tmp_path / "out"
    write_layout(dest, store=store, image=index.descriptor, ref_name="mixed")
    opened = read_layout(dest)
    assert len(opened.images) == 1
    assert opened.images[0].descriptor.media_type == DOCKER_MANIFEST
    assert opened.image(platform=AMD64).manifest["layers"][0]["mediaType"] == DOCKER_LAYER_GZIP


def test_platform_falls_back_to_the_config(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store, platform=ARM64)
    dest = tmp_path / "out"
    write_layout(dest, store=store, image=image.manifest.replace(platform=None), ref_name="x")
    assert read_layout(dest).images[0].descriptor.platform == ARM64


def test_missing_blobs_are_found_before_anything_is_written(
    tmp_path: Path, store: BlobStore
) -> None:
    image = small_image(store)
    store.path(image.layers[0].digest).unlink()
    dest = tmp_path / "out"
    with pytest.raises(CachedBlobMissingError, match=image.layers[0].digest):
        write_layout(dest, store=store, image=image.manifest, ref_name="v1")
    assert not dest.exists()
    with pytest.raises(CachedBlobMissingError):
        write_docker_archive(tmp_path / "a.tar", store=store, image=image.manifest, tags=["x:1"])
    assert list(tmp_path.glob("*.tar")) == []
    assert list(tmp_path.glob(".a.tar*")) == []


# --- docker archives --------------------------------------------------------------


def _archive(path: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(path) as tar:
        return {m.name: m for m in tar.getmembers()}


def _read(path: Path, name: str) -> Any:
    with tarfile.open(path) as tar:
        stream = tar.extractfile(name)
        assert stream is not None
        return json.loads(stream.read())


def test_docker_archive_contents(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store)
    archive = tmp_path / "image.tar"
    chosen = write_docker_archive(
        archive, store=store, image=image.manifest, tags=["localhost:5000/demo/app:1", "app"]
    )
    assert chosen == image.manifest
    members = _archive(archive)
    manifest = _json_in(store, image.manifest)
    config = manifest["config"]["digest"].removeprefix("sha256:")
    layers = [f"blobs/sha256/{d['digest'].removeprefix('sha256:')}" for d in manifest["layers"]]
    assert list(members) == sorted(
        [
            "blobs",
            "blobs/sha256",
            *sorted(
                [f"blobs/sha256/{config}", *layers, f"blobs/sha256/{image.manifest.digest[7:]}"]
            ),
            "index.json",
            "manifest.json",
            "oci-layout",
        ],
        key=lambda n: n.split("/"),
    )
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members.values()} == {
        (0, 0, "", "", 0)
    }
    assert {m.mode for m in members.values() if m.isdir()} == {0o755}
    assert {m.mode for m in members.values() if m.isfile()} == {0o644}
    assert _read(archive, "manifest.json") == [
        {
            "Config": f"blobs/sha256/{config}",
            "RepoTags": ["localhost:5000/demo/app:1", "app:latest"],
            "Layers": layers,
        }
    ]
    index = _read(archive, "index.json")
    assert [m["annotations"] for m in index["manifests"]] == [
        {ANNOTATION_CONTAINERD_NAME: "localhost:5000/demo/app:1", ANNOTATION_REF_NAME: "1"},
        {ANNOTATION_CONTAINERD_NAME: "docker.io/library/app:latest", ANNOTATION_REF_NAME: "latest"},
    ]
    assert {m["digest"] for m in index["manifests"]} == {image.manifest.digest}


def _json_in(store: BlobStore, descriptor: Descriptor) -> Any:
    return json.loads(store.read_bytes(descriptor.digest))


def test_docker_archive_is_deterministic(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store)
    one, two = tmp_path / "one.tar", tmp_path / "two.tar"
    write_docker_archive(one, store=store, image=image.manifest, tags=["demo:1"], epoch=EPOCH)
    write_docker_archive(two, store=store, image=image.manifest, tags=["demo:1"], epoch=EPOCH)
    assert one.read_bytes() == two.read_bytes()
    assert {m.mtime for m in _archive(one).values()} == {EPOCH}


def test_docker_archive_picks_one_platform(tmp_path: Path, store: BlobStore) -> None:
    index = two_platform_index(store)
    archive = tmp_path / "arm.tar"
    chosen = write_docker_archive(
        archive, store=store, image=index, tags=["demo/app:2"], platform=ARM64
    )
    assert chosen.platform == ARM64
    config_name = _read(archive, "manifest.json")[0]["Config"]
    assert _read(archive, config_name)["architecture"] == "arm64"
    assert (
        _read(archive, "index.json")["manifests"][0]["annotations"][ANNOTATION_CONTAINERD_NAME]
        == "docker.io/demo/app:2"
    )
    with pytest.raises(LayoutError, match="several platforms"):
        write_docker_archive(tmp_path / "x.tar", store=store, image=index, tags=["a"])
    with pytest.raises(LayoutError, match="no single linux/arm/v7 manifest"):
        write_docker_archive(
            tmp_path / "x.tar",
            store=store,
            image=index,
            tags=["a"],
            platform=Platform.parse("linux/arm/v7"),
        )
    with pytest.raises(LayoutError, match="not by digest"):
        write_docker_archive(
            tmp_path / "x.tar", store=store, image=index, tags=["a@sha256:00"], platform=ARM64
        )


def test_untagged_docker_archive(tmp_path: Path, store: BlobStore) -> None:
    image = small_image(store)
    archive = tmp_path / "plain.tar"
    write_docker_archive(archive, store=store, image=image.manifest, tags=[])
    assert _read(archive, "manifest.json")[0]["RepoTags"] == []
    assert "annotations" not in _read(archive, "index.json")["manifests"][0]
