"""The OCI model: platforms, descriptors, canonical JSON, config/manifest/index rules."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uvdock.oci import model
from uvdock.oci.documents import (
    History,
    build_config,
    build_index,
    build_manifest,
    config_env,
    validate_config,
)
from uvdock.oci.model import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_LAYER_TAR,
    OCI_LAYER_ZSTD,
    OCI_MANIFEST,
    Descriptor,
    DigestError,
    ImageError,
    JSONBlob,
    Platform,
    canonical_json,
    convert_media_type,
    digest_hex,
    family_of,
    rfc3339,
    sha256_digest,
)

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


def test_all_names_exist() -> None:
    for name in model.__all__:
        assert hasattr(model, name), name


# --- canonical JSON -------------------------------------------------------------


def test_canonical_json_is_sorted_compact_utf8_without_newline() -> None:
    data = canonical_json({"b": [1, {"z": 1, "a": "caf\u00e9"}], "a": None})
    assert data == '{"a":null,"b":[1,{"a":"café","z":1}]}'.encode()
    assert not data.endswith(b"\n")


@given(st.dictionaries(st.text(), st.integers() | st.text(), max_size=8))
def test_canonical_json_ignores_insertion_order(value: dict[str, Any]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_json(value) == canonical_json(reordered)
    assert json.loads(canonical_json(value)) == value


def test_json_blob_descriptor_describes_the_bytes() -> None:
    platform = Platform.parse("linux/arm64")
    blob = JSONBlob.encode({"x": 1}, media_type=OCI_CONFIG, platform=platform)
    assert blob.data == b'{"x":1}'
    assert blob.descriptor.digest == "sha256:" + hashlib.sha256(b'{"x":1}').hexdigest()
    assert blob.descriptor.size == 7
    assert blob.descriptor.platform == platform


def test_digest_helpers() -> None:
    assert sha256_digest(b"") == (
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert digest_hex(D1) == "1" * 64
    for bad in ("sha256:../../etc/passwd", "sha512:" + "1" * 128, "sha256:" + "A" * 64, D1 + "0"):
        with pytest.raises(DigestError):
            digest_hex(bad)


def test_rfc3339() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert rfc3339(1_700_000_000) == "2023-11-14T22:13:20Z"


# --- platforms ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "os", "arch", "variant", "shown"),
    [
        ("linux/amd64", "linux", "amd64", None, "linux/amd64"),
        ("linux/x86_64", "linux", "amd64", None, "linux/amd64"),
        ("linux/arm64", "linux", "arm64", None, "linux/arm64"),
        ("linux/arm64/v8", "linux", "arm64", None, "linux/arm64"),
        ("linux/aarch64", "linux", "arm64", None, "linux/arm64"),
        ("linux/arm/v7", "linux", "arm", "v7", "linux/arm/v7"),
        ("linux/arm", "linux", "arm", "v7", "linux/arm/v7"),
        ("linux/arm/v6", "linux", "arm", "v6", "linux/arm/v6"),
        ("Linux/ARM64/8", "linux", "arm64", None, "linux/arm64"),
    ],
)
def test_platform_parse(text: str, os: str, arch: str, variant: str | None, shown: str) -> None:
    platform = Platform.parse(text)
    assert (platform.os, platform.architecture, platform.variant) == (os, arch, variant)
    assert str(platform) == shown


def test_arm64_with_and_without_v8_are_equal() -> None:
    hub = Platform.from_json({"architecture": "arm64", "os": "linux", "variant": "v8"})
    assert hub == Platform.parse("linux/arm64")
    assert hash(hub) == hash(Platform.parse("linux/arm64"))
    assert hub.to_json() == {"architecture": "arm64", "os": "linux"}
    assert Platform.parse("linux/arm/v7").to_json() == {
        "architecture": "arm",
        "os": "linux",
        "variant": "v7",
    }


@pytest.mark.parametrize("text", ["linux", "linux/", "/amd64", "linux/arm/v7/x", ""])
def test_platform_parse_refuses_garbage(text: str) -> None:
    with pytest.raises(ImageError, match="invalid platform"):
        Platform.parse(text)


# --- descriptors ----------------------------------------------------------------


def test_descriptor_round_trip_and_optional_fields() -> None:
    plain = Descriptor(media_type=OCI_LAYER_GZIP, digest=D1, size=3)
    assert plain.to_json() == {"mediaType": OCI_LAYER_GZIP, "digest": D1, "size": 3}
    full = Descriptor(
        media_type=OCI_MANIFEST,
        digest=D2,
        size=9,
        annotations={"a": "b"},
        platform=Platform.parse("linux/arm/v7"),
    )
    assert Descriptor.from_json(full.to_json()) == full
    assert full.replace(size=10).size == 10


@pytest.mark.parametrize(
    "value",
    [
        {"mediaType": OCI_CONFIG, "digest": "sha256:x", "size": 1},
        {"mediaType": OCI_CONFIG, "size": 1},
        {"mediaType": OCI_CONFIG, "digest": D1, "size": -1},
        {"mediaType": OCI_CONFIG, "digest": D1, "size": "many"},
    ],
)
def test_descriptor_refuses_invalid_json(value: dict[str, Any]) -> None:
    with pytest.raises(ImageError):
        Descriptor.from_json(value)


# --- media-type families --------------------------------------------------------


def test_families_and_conversion() -> None:
    assert family_of(DOCKER_MANIFEST) == "docker"
    assert family_of(OCI_LAYER_ZSTD) == "oci"
    assert family_of("application/json") is None
    assert convert_media_type(DOCKER_LAYER_GZIP, "oci") == OCI_LAYER_GZIP
    assert convert_media_type(DOCKER_CONFIG, "oci") == OCI_CONFIG
    assert convert_media_type(OCI_LAYER_GZIP, "oci") == OCI_LAYER_GZIP
    assert convert_media_type(OCI_LAYER_GZIP, "docker") == DOCKER_LAYER_GZIP
    assert convert_media_type(DOCKER_LAYER_GZIP, "docker") == DOCKER_LAYER_GZIP
    for no_twin in (OCI_LAYER_ZSTD, OCI_LAYER_TAR):
        with pytest.raises(ImageError, match="no Docker schema2 equivalent"):
            convert_media_type(no_twin, "docker")


# --- config ---------------------------------------------------------------------


def _base_config() -> dict[str, Any]:
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8", "PYTHON_VERSION=3.13.5"],
            "Cmd": ["python3"],
            "Labels": {"base": "yes"},
        },
        "rootfs": {"type": "layers", "diff_ids": [D1]},
        "history": [
            {"created_by": "ENV LANG=C.UTF-8", "empty_layer": True},
            {"created_by": "ADD rootfs.tar /"},
        ],
        "unknown_field": {"kept": True},
    }


def test_build_config_appends_layers_and_history_without_touching_the_base() -> None:
    base = _base_config()
    pristine = copy.deepcopy(base)
    config = build_config(
        base,
        diff_ids=[D2, D3],
        history=[History(created_by="deps", comment="uvdock"), History(created_by="app")],
        created="2025-05-05T00:00:00Z",
    )
    assert base == pristine
    assert config["rootfs"] == {"type": "layers", "diff_ids": [D1, D2, D3]}
    assert config["history"][2:] == [
        {"created": "2025-05-05T00:00:00Z", "created_by": "deps", "comment": "uvdock"},
        {"created": "2025-05-05T00:00:00Z", "created_by": "app"},
    ]
    assert config["created"] == "2025-05-05T00:00:00Z"
    assert config["unknown_field"] == {"kept": True}
    assert config["config"]["Cmd"] == ["python3"]


def test_build_config_runtime_settings() -> None:
    base = _base_config()
    config = build_config(
        base,
        diff_ids=[D2],
        history=[History(created_by="app")],
        created="2025-05-05T00:00:00Z",
        env={"PATH": "/app/.venv/bin:" + config_env(base)["PATH"], "NEW": "1"},
        user="1000:1000",
        working_dir="/app",
        entrypoint=["/app/.venv/bin/serve"],
        labels={"org.opencontainers.image.title": "demo"},
    )
    run = config["config"]
    assert run["Env"] == [
        "PATH=/app/.venv/bin:/usr/local/bin:/usr/bin",
        "LANG=C.UTF-8",
        "PYTHON_VERSION=3.13.5",
        "NEW=1",
    ]
    assert run["User"] == "1000:1000"
    assert run["WorkingDir"] == "/app"
    assert run["Entrypoint"] == ["/app/.venv/bin/serve"]
    assert "Cmd" not in run  # an entrypoint drops the base's Cmd, as in a Dockerfile
    assert run["Labels"] == {"base": "yes", "org.opencontainers.image.title": "demo"}


def test_build_config_empty_values_remove_and_cmd_with_entrypoint_is_kept() -> None:
    base = _base_config()
    base["config"]["Entrypoint"] = ["tini", "--"]
    base["config"]["User"] = "nobody"
    config = build_config(
        base,
        diff_ids=[D2],
        history=[History(created_by="app")],
        created="2025-05-05T00:00:00Z",
        entrypoint=[],
        cmd=["app", "--serve"],
        user="",
    )
    assert "Entrypoint" not in config["config"]
    assert "User" not in config["config"]
    assert config["config"]["Cmd"] == ["app", "--serve"]


def test_build_config_platform_and_empty_layer_history() -> None:
    config = build_config(
        None,
        diff_ids=[D1],
        history=[History(created_by="ENV X=1", empty_layer=True), History(created_by="layer")],
        created="2025-05-05T00:00:00Z",
        platform=Platform.parse("linux/arm/v7"),
    )
    assert (config["os"], config["architecture"], config["variant"]) == ("linux", "arm", "v7")
    assert config["history"][0]["empty_layer"] is True
    arm64 = build_config(
        {**config, "rootfs": {"type": "layers", "diff_ids": []}, "history": []},
        diff_ids=[],
        history=[],
        created="2025-05-05T00:00:00Z",
        platform=Platform.parse("linux/arm64"),
    )
    assert arm64["architecture"] == "arm64"
    assert "variant" not in arm64


def test_build_config_fills_in_history_a_base_does_not_have() -> None:
    base = _base_config()
    del base["history"]
    config = build_config(
        base, diff_ids=[D2], history=[History(created_by="app")], created="2025-05-05T00:00:00Z"
    )
    assert len(config["history"]) == 2
    assert config["history"][0]["created_by"] == "(base layer)"


def test_build_config_refuses_mismatched_history() -> None:
    with pytest.raises(ImageError, match="1 non-empty history entries but 2 diff_ids"):
        build_config(_base_config(), diff_ids=[D2], history=[], created="2025-05-05T00:00:00Z")


def test_validate_config() -> None:
    good = _base_config()
    validate_config(good)
    validate_config(good, manifest={"layers": [{}]})
    with pytest.raises(ImageError, match="manifest lists 2 layers but its config has 1"):
        validate_config(good, manifest={"layers": [{}, {}]})
    with pytest.raises(ImageError, match="no 'architecture'"):
        validate_config({**good, "architecture": ""})
    with pytest.raises(ImageError, match=r"rootfs\.type"):
        validate_config({**good, "rootfs": {"type": "other", "diff_ids": [D1]}})
    with pytest.raises(DigestError):
        validate_config({**good, "rootfs": {"type": "layers", "diff_ids": ["sha256:zz"]}})
    no_history = {**good, "history": []}
    validate_config(no_history)  # history is optional


# --- manifest and index ---------------------------------------------------------


def test_manifest_over_a_docker_base_uses_oci_types_throughout() -> None:
    config = Descriptor(media_type=OCI_CONFIG, digest=D1, size=10)
    base_layer = Descriptor(media_type=DOCKER_LAYER_GZIP, digest=D2, size=20)
    ours = Descriptor(media_type=OCI_LAYER_GZIP, digest=D3, size=30, annotations={"x": "y"})
    manifest = build_manifest(
        config=config, layers=[base_layer, ours], annotations={"org.example": "1"}
    )
    assert manifest == {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": D1, "size": 10},
        "layers": [
            {"mediaType": OCI_LAYER_GZIP, "digest": D2, "size": 20},
            {"mediaType": OCI_LAYER_GZIP, "digest": D3, "size": 30},
        ],
        "annotations": {"org.example": "1"},
    }
    types = {d["mediaType"] for d in [manifest["config"], *manifest["layers"]]}
    assert {family_of(t) for t in types} == {"oci"}


def test_docker_manifest_family() -> None:
    config = Descriptor(media_type=OCI_CONFIG, digest=D1, size=10)
    layer = Descriptor(media_type=OCI_LAYER_GZIP, digest=D2, size=20)
    manifest = build_manifest(config=config, layers=[layer], family="docker")
    assert manifest["mediaType"] == DOCKER_MANIFEST
    assert manifest["config"]["mediaType"] == DOCKER_CONFIG
    assert manifest["layers"][0]["mediaType"] == DOCKER_LAYER_GZIP
    with pytest.raises(ImageError, match="annotations"):
        build_manifest(config=config, layers=[layer], family="docker", annotations={"a": "b"})
    zstd = Descriptor(media_type=OCI_LAYER_ZSTD, digest=D3, size=1)
    with pytest.raises(ImageError, match="no Docker schema2 equivalent"):
        build_manifest(config=config, layers=[zstd], family="docker")


def test_build_index() -> None:
    amd = Descriptor(
        media_type=OCI_MANIFEST, digest=D1, size=1, platform=Platform.parse("linux/amd64")
    )
    arm = Descriptor(
        media_type=OCI_MANIFEST, digest=D2, size=2, platform=Platform.parse("linux/arm64")
    )
    index = build_index([amd, arm], annotations={"org.example": "1"})
    assert index["mediaType"] == OCI_INDEX
    assert [m["platform"] for m in index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
    ]
    with pytest.raises(ImageError, match="has no platform"):
        build_index([amd.replace(platform=None)])
    with pytest.raises(ImageError, match="not a oci manifest"):
        build_index([amd.replace(media_type=DOCKER_MANIFEST)])
    docker_list = build_index([amd.replace(media_type=DOCKER_MANIFEST)], family="docker")
    assert docker_list["mediaType"] == model.DOCKER_MANIFEST_LIST
    with pytest.raises(ImageError, match="annotations"):
        build_index(
            [amd.replace(media_type=DOCKER_MANIFEST)], family="docker", annotations={"a": "b"}
        )


def test_same_inputs_same_digests() -> None:
    def make() -> str:
        config = build_config(
            _base_config(),
            diff_ids=[D2],
            history=[History(created_by="app")],
            created=rfc3339(1),
            env={"A": "1", "B": "2"},
            labels={"z": "1", "a": "2"},
        )
        return JSONBlob.encode(config, media_type=OCI_CONFIG).descriptor.digest

    assert make() == make()
