"""Small images built with uvdock's own OCI modules, shared by the unit and tool tests."""

from __future__ import annotations

import dataclasses

from uvdock.oci.blobs import BlobStore
from uvdock.oci.documents import History, build_config, build_index, build_manifest
from uvdock.oci.model import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    JSONBlob,
    LayerInfo,
    Platform,
    rfc3339,
)
from uvdock.oci.tarlayer import (
    DirectoryEntry,
    Entry,
    FileEntry,
    SymlinkEntry,
    WhiteoutEntry,
    write_layer,
)

EPOCH = 1_700_000_000
BASE_FILES: dict[str, bytes] = {
    "etc/os-release": b'ID=uvdock-test\nVERSION_ID="1"\n',
    "etc/obsolete.conf": b"removed by the app layer\n",
    "usr/bin/hello": b"#!/bin/sh\necho hello\n",
}
APP_FILES: dict[str, bytes] = {
    "app/main.py": b"print('hello from the app')\n",
    "app/data/config.toml": "name = 'caf\u00e9'\n".encode(),
}


def base_entries() -> list[Entry]:
    return [
        FileEntry(path="/etc/os-release", source=BASE_FILES["etc/os-release"]),
        FileEntry(path="/etc/obsolete.conf", source=BASE_FILES["etc/obsolete.conf"]),
        FileEntry(path="/usr/bin/hello", source=BASE_FILES["usr/bin/hello"], executable=True),
        SymlinkEntry(path="/usr/bin/hi", target="hello"),
        DirectoryEntry(path="/tmp", mode=0o1777),
    ]


def app_entries(*, uid: int = 1000, gid: int = 1000) -> list[Entry]:
    return [
        DirectoryEntry(path="/app", uid=uid, gid=gid),
        FileEntry(path="/app/main.py", source=APP_FILES["app/main.py"], uid=uid, gid=gid),
        DirectoryEntry(path="/app/data", uid=uid, gid=gid),
        FileEntry(
            path="/app/data/config.toml", source=APP_FILES["app/data/config.toml"], uid=uid, gid=gid
        ),
        WhiteoutEntry(path="/etc/obsolete.conf"),
    ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SmallImage:
    manifest: Descriptor
    config: dict[str, object]
    layers: tuple[LayerInfo, ...]


def small_image(store: BlobStore, *, platform: Platform | None = None) -> SmallImage:
    """A two-layer image (base files, then the app) stored in ``store``."""
    platform = platform or Platform.parse("linux/amd64")
    base = write_layer(base_entries(), store, epoch=EPOCH)
    app = write_layer(app_entries(), store, epoch=EPOCH)
    config = build_config(
        None,
        platform=platform,
        diff_ids=[base.diff_id, app.diff_id],
        history=[History(created_by="uvdock test base"), History(created_by="uvdock test app")],
        created=rfc3339(EPOCH),
        env={"PATH": "/usr/bin:/bin"},
        user="1000:1000",
        working_dir="/app",
        cmd=["/usr/bin/hello"],
    )
    config_blob = JSONBlob.encode(config, media_type=OCI_CONFIG)
    store.put_bytes(config_blob.data)
    manifest = build_manifest(
        config=config_blob.descriptor, layers=[base.descriptor(), app.descriptor()]
    )
    manifest_blob = JSONBlob.encode(manifest, media_type=OCI_MANIFEST, platform=platform)
    store.put_bytes(manifest_blob.data)
    return SmallImage(manifest=manifest_blob.descriptor, config=config, layers=(base, app))


def two_platform_index(store: BlobStore) -> Descriptor:
    """An index over the small image for linux/amd64 and linux/arm64."""
    manifests = [
        small_image(store, platform=Platform.parse(text)).manifest
        for text in ("linux/amd64", "linux/arm64")
    ]
    index = JSONBlob.encode(build_index(manifests), media_type=OCI_INDEX)
    store.put_bytes(index.data)
    return index.descriptor
