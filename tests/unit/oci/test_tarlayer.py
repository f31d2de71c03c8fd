"""Deterministic layer tars, and reading untrusted base layers safely."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import socket
import stat
import tarfile
import tempfile
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.oci.images import EPOCH, app_entries, base_entries
from uvdock.oci import tarlayer
from uvdock.oci.blobs import BlobStore, selector_key
from uvdock.oci.layerread import (
    HostileLayerError,
    check_member,
    extract_files,
    image_files,
    iter_layer,
)
from uvdock.oci.model import OCI_LAYER_GZIP
from uvdock.oci.tarlayer import (
    DirectoryEntry,
    Entry,
    FileEntry,
    LayerError,
    SymlinkEntry,
    WhiteoutEntry,
    entries_from_directory,
    layer_selector,
    write_layer,
)

LONG = "site-packages/" + "/".join(["a_rather_long_directory_name"] * 5) + "/module.py"


def _members(store: BlobStore, digest: str) -> list[tarfile.TarInfo]:
    with tarfile.open(store.path(digest)) as tar:
        return tar.getmembers()


def _tar_bytes(store: BlobStore, digest: str) -> bytes:
    with gzip.open(store.path(digest)) as stream:
        return stream.read()


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "cache")


@pytest.fixture
def umask() -> Iterator[Callable[[int], int]]:
    original = os.umask(0o022)
    os.umask(original)
    yield os.umask
    os.umask(original)


def test_all_names_exist() -> None:
    for name in tarlayer.__all__:
        assert hasattr(tarlayer, name), name


# --- the tar itself ---------------------------------------------------------------


def test_layer_digests_describe_the_blob(store: BlobStore) -> None:
    layer = write_layer([FileEntry(path="/a.txt", source=b"a")], store, epoch=EPOCH)
    blob = store.path(layer.digest).read_bytes()
    assert layer.digest == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert layer.size == len(blob)
    assert layer.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest()
    assert layer.media_type == OCI_LAYER_GZIP
    assert layer.descriptor().to_json() == {
        "mediaType": OCI_LAYER_GZIP,
        "digest": layer.digest,
        "size": layer.size,
    }


def test_gzip_header_has_no_time_and_no_name(store: BlobStore) -> None:
    layer = write_layer([FileEntry(path="a", source=b"a")], store, epoch=EPOCH)
    header = store.path(layer.digest).read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] == 0  # FLG: no FNAME, no FCOMMENT, no FEXTRA
    assert header[4:8] == b"\0\0\0\0"  # MTIME
    assert header[9] == 255  # OS byte GzipFile writes


def test_entries_sorted_parents_first_and_normalised(store: BlobStore) -> None:
    entries: list[Entry] = [
        FileEntry(path="/b/z.txt", source=b"z"),
        FileEntry(path="/a-b/x", source=b"x"),
        FileEntry(path="/b/a/deep.txt", source=b"deep", uid=1000, gid=1000),
        SymlinkEntry(path="/b/link", target="/usr/bin/python3"),
        FileEntry(path="./b/run.sh", source=b"#!/bin/sh\n", executable=True),
        DirectoryEntry(path="/tmp", mode=0o1777),
        WhiteoutEntry(path="/b/gone"),
    ]
    layer = write_layer(entries, store, epoch=EPOCH)
    members = _members(store, layer.digest)
    assert [m.name for m in members] == [
        "a-b",
        "a-b/x",
        "b",
        "b/.wh.gone",
        "b/a",
        "b/a/deep.txt",
        "b/link",
        "b/run.sh",
        "b/z.txt",
        "tmp",
    ]
    by_name = {m.name: m for m in members}
    assert {m.mtime for m in members} == {EPOCH}
    assert {(m.uname, m.gname) for m in members} == {("", "")}
    assert stat.S_IMODE(by_name["b"].mode) == 0o755
    assert by_name["b"].uid == 0  # an implied parent is root's
    assert (by_name["b/a/deep.txt"].uid, by_name["b/a/deep.txt"].gid) == (1000, 1000)
    assert by_name["b/a/deep.txt"].mode == 0o644
    assert by_name["b/run.sh"].mode == 0o755
    assert by_name["b/link"].issym()
    assert by_name["b/link"].linkname == "/usr/bin/python3"
    assert by_name["b/link"].mode == 0o777
    assert by_name["tmp"].mode == 0o1777
    assert by_name["b/.wh.gone"].isreg()
    assert by_name["b/.wh.gone"].size == 0
    assert not any(m.islnk() or m.ischr() or m.isblk() for m in members)


def test_pax_headers_only_where_ustar_cannot_say_it(store: BlobStore) -> None:
    entries: list[Entry] = [
        FileEntry(path="short.txt", source=b"s"),
        FileEntry(path=LONG, source=b"long"),
        FileEntry(path="caf\u00e9.txt", source=b"accent"),
    ]
    layer = write_layer(entries, store, epoch=EPOCH)
    by_name = {m.name: m for m in _members(store, layer.digest)}
    assert by_name["short.txt"].pax_headers == {}
    assert by_name["site-packages"].pax_headers == {}
    assert by_name[LONG].pax_headers == {"path": LONG}
    assert by_name["caf\u00e9.txt"].pax_headers == {"path": "caf\u00e9.txt"}
    raw = _tar_bytes(store, layer.digest)
    assert b"mtime=" not in raw
    assert b"GNU" not in raw
    assert b"@LongLink" not in raw


def test_add_parents_false_leaves_parents_implicit(store: BlobStore) -> None:
    layer = write_layer(
        [FileEntry(path="/usr/local/lib/x.pth", source=b"x")], store, epoch=EPOCH, add_parents=False
    )
    assert [m.name for m in _members(store, layer.digest)] == ["usr/local/lib/x.pth"]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([FileEntry(path="/a/../etc/passwd", source=b"")], "'..' component"),
        ([FileEntry(path="/", source=b"")], "names the root directory"),
        ([FileEntry(path="a", source=b""), FileEntry(path="/a/", source=b"")], "appears twice"),
        ([FileEntry(path="a", source=b""), FileEntry(path="a/b", source=b"")], "not a directory"),
        ([FileEntry(path="d/.wh.x", source=b"")], "whiteouts"),
    ],
)
def test_invalid_entries_are_refused(store: BlobStore, entries: list[Entry], message: str) -> None:
    with pytest.raises(LayerError, match=message):
        write_layer(entries, store, epoch=EPOCH)
    assert not any((store.root / "tmp").glob("*"))


# --- determinism --------------------------------------------------------------------


def _make_tree(root: Path, *, order: list[str], mode: int, mtime: int) -> None:
    files = {
        "pkg/__init__.py": b"",
        "pkg/core.py": b"VALUE = 1\n",
        "bin/tool": b"#!/usr/bin/env python3\n",
        "data/caf\u00e9.json": b"{}",
        LONG: b"# long\n",
    }
    for name in order:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
        path.chmod(0o755 if name == "bin/tool" else mode)
        os.utime(path, (mtime, mtime))
    (root / "pkg" / "link.py").symlink_to("core.py")
    os.link(root / "pkg" / "core.py", root / "pkg" / "hardlinked.py")
    for directory in sorted(p for p in root.rglob("*") if p.is_dir()):
        os.utime(directory, (mtime, mtime))


def test_same_files_same_digest_whatever_the_host_metadata(
    tmp_path: Path, store: BlobStore, umask: Callable[[int], int]
) -> None:
    names = ["pkg/__init__.py", "pkg/core.py", "bin/tool", "data/caf\u00e9.json", LONG]
    umask(0o022)
    _make_tree(tmp_path / "one", order=names, mode=0o644, mtime=1)
    umask(0o077)
    _make_tree(tmp_path / "two", order=list(reversed(names)), mode=0o600, mtime=2_000_000_000)
    umask(0o022)
    if os.geteuid() == 0:  # different owners, where the test can set them
        for path in (tmp_path / "two").rglob("*"):
            os.lchown(path, 4321, 4321)
    first = write_layer(
        entries_from_directory(tmp_path / "one", prefix="/app", uid=1000, gid=1000),
        store,
        epoch=EPOCH,
    )
    second_entries = entries_from_directory(tmp_path / "two", prefix="/app", uid=1000, gid=1000)
    second = write_layer(list(reversed(second_entries)), store, epoch=EPOCH)
    assert first == second
    assert (
        write_layer(
            entries_from_directory(tmp_path / "one", prefix="/app", uid=1000, gid=1000),
            store,
            epoch=EPOCH + 1,
        )
        != first
    )  # the epoch is an input
    members = {m.name: m for m in _members(store, first.digest)}
    assert members["app"].uid == 1000
    assert members["app/pkg/hardlinked.py"].isreg()  # a hard link becomes a plain file
    assert members["app/pkg/link.py"].linkname == "core.py"
    assert members["app/bin/tool"].mode == 0o755
    assert members["app/pkg/core.py"].mode == 0o644


def test_content_and_exec_bit_changes_change_the_digest(tmp_path: Path, store: BlobStore) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"one")
    before = write_layer([FileEntry(path="f", source=source)], store, epoch=EPOCH)
    source.chmod(0o755)
    exec_bit = write_layer([FileEntry(path="f", source=source)], store, epoch=EPOCH)
    source.write_bytes(b"two")
    content = write_layer([FileEntry(path="f", source=source)], store, epoch=EPOCH)
    assert len({before.diff_id, exec_bit.diff_id, content.diff_id}) == 3
    as_bytes = write_layer(
        [FileEntry(path="f", source=b"two", executable=True)], store, epoch=EPOCH
    )
    assert as_bytes == content  # a host file and the same bytes are the same layer


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(7)))
def test_entry_order_never_matters(order: list[int]) -> None:
    entries = [*base_entries(), *app_entries()]
    with tempfile.TemporaryDirectory() as root:
        store = BlobStore(Path(root))
        expected = write_layer(entries, store, epoch=EPOCH)
        shuffled = [entries[i] for i in order] + entries[len(order) :]
        assert write_layer(shuffled, store, epoch=EPOCH) == expected


def test_large_files_are_streamed(tmp_path: Path, store: BlobStore) -> None:
    big = tmp_path / "big.bin"
    chunk = os.urandom(1 << 20)
    with big.open("wb") as out:
        for n in range(24):
            out.write(chunk[n:] + chunk[:n])
    tracemalloc.start()
    try:
        layer = write_layer([FileEntry(path="big.bin", source=big)], store, epoch=EPOCH)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert layer.size > 20 << 20  # random data does not compress
    assert peak < 8 << 20, f"peak {peak} bytes for a 24 MiB file"


def test_a_file_that_changes_while_read_is_refused(tmp_path: Path, store: BlobStore) -> None:
    source = tmp_path / "log"
    source.write_bytes(b"x" * 10)
    original = tarfile.TarFile.addfile

    def grow_then_add(self: tarfile.TarFile, info: tarfile.TarInfo, fileobj: object = None) -> None:
        if info.name == "log":
            with source.open("ab") as out:
                out.write(b"more")
        original(self, info, fileobj)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tarfile.TarFile, "addfile", grow_then_add)
        with pytest.raises(LayerError, match="grew while it was being read"):
            write_layer([FileEntry(path="log", source=source)], store, epoch=EPOCH)


def test_devices_fifos_and_sockets_are_refused(tmp_path: Path) -> None:
    fifo_dir = tmp_path / "fifo"
    fifo_dir.mkdir()
    os.mkfifo(fifo_dir / "pipe")
    with pytest.raises(LayerError, match="devices, FIFOs and sockets"):
        entries_from_directory(fifo_dir, prefix="/app")
    sock_dir = Path(tempfile.mkdtemp(prefix="s", dir="/tmp"))  # AF_UNIX paths are short
    try:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(sock_dir / "s"))
            with pytest.raises(LayerError, match="devices, FIFOs and sockets"):
                entries_from_directory(sock_dir, prefix="/app")
    finally:
        shutil.rmtree(sock_dir)


def test_entries_from_directory_at_the_root(tmp_path: Path) -> None:
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    (tmp_path / "usr" / "bin" / "x").write_text("x")
    entries = entries_from_directory(tmp_path, prefix="/")
    assert [e.path for e in entries] == ["usr", "usr/bin", "usr/bin/x"]
    with pytest.raises(LayerError, match=r"'\.\.' component"):
        entries_from_directory(tmp_path, prefix="/app/../..")


def test_layer_selector_covers_the_layer_format() -> None:
    before = layer_selector({"a": 1})
    assert before == layer_selector({"a": 1})
    assert before != layer_selector({"a": 2})
    assert before != selector_key({"a": 1})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tarlayer, "LAYER_FORMAT", "uvdock-layer/999")
        assert layer_selector({"a": 1}) != before
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zlib, "ZLIB_RUNTIME_VERSION", "0.0.0")
        assert layer_selector({"a": 1}) != before


# --- reading layers -------------------------------------------------------------------


def _hostile_layer(path: Path, *members: tarfile.TarInfo, gz: bool = True) -> Path:
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for member in members:
            payload = b"pwned\n"
            if member.isreg():
                member.size = len(payload)
                tar.addfile(member, io.BytesIO(payload))
            else:
                tar.addfile(member)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mtime = int(time.time())
    return info


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (_info("../evil"), "'..' path component"),
        (_info("usr/../../evil"), "'..' path component"),
        (_info("/../../etc/evil"), "'..' path component"),
        (_info("dev/sda", tarfile.BLKTYPE), "device file"),
        (_info("dev/null", tarfile.CHRTYPE), "device file"),
        (_info("etc/shadow", tarfile.LNKTYPE, "../../etc/shadow"), "outside the layer"),
        (_info("x", tarfile.LNKTYPE, "/"), "outside the layer"),
        (_info("/", tarfile.REGTYPE), "replaces the root directory"),
    ],
)
def test_hostile_members_are_refused(tmp_path: Path, member: tarfile.TarInfo, message: str) -> None:
    layer = _hostile_layer(tmp_path / "layer.tar.gz", _info("etc/ok"), member)
    with pytest.raises(HostileLayerError, match=message):
        list(iter_layer(layer))
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(HostileLayerError, match=message):
        extract_files(layer, dest, ["evil", "etc/evil", "etc/shadow", "x"])
    assert not (tmp_path / "evil").exists()
    assert not (tmp_path.parent / "evil").exists()
    with pytest.raises(HostileLayerError):
        check_member(member)


def test_symlink_tricks_never_write_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    layer = _hostile_layer(
        tmp_path / "layer.tar",
        _info("lib", tarfile.SYMTYPE, str(outside)),
        _info("lib/evil"),
        _info("/etc/passwd"),
        gz=False,
    )
    dest = tmp_path / "dest"
    dest.mkdir()
    found = extract_files(layer, dest, ["lib/evil", "etc/passwd"])
    assert found == {"lib/evil": dest / "lib" / "evil", "etc/passwd": dest / "etc" / "passwd"}
    assert (dest / "lib").is_dir()
    assert not (dest / "lib").is_symlink()
    assert list(outside.iterdir()) == []
    # a symlink already in the destination is not written through either
    other = tmp_path / "other"
    other.mkdir()
    (other / "lib").symlink_to(outside)
    with pytest.raises(HostileLayerError, match="is a symlink"):
        extract_files(layer, other, ["lib/evil"])
    assert list(outside.iterdir()) == []


def test_reading_our_own_layers(tmp_path: Path, store: BlobStore) -> None:
    base = write_layer(base_entries(), store, epoch=EPOCH)
    app = write_layer(app_entries(), store, epoch=EPOCH)
    members = {m.path: m for m in iter_layer(store.path(base.digest))}
    assert members["usr/bin/hello"].kind == "file"
    assert members["usr/bin/hello"].mode == 0o755
    assert members["usr/bin/hi"].kind == "symlink"
    assert members["usr/bin/hi"].linkname == "hello"
    merged = image_files([store.path(base.digest), store.path(app.digest)])
    assert "etc/obsolete.conf" not in merged  # the app layer's whiteout
    assert "etc/os-release" in merged
    assert merged["app/main.py"].uid == 1000
    assert not any(m.is_whiteout for m in merged.values())
    dest = tmp_path / "x"
    dest.mkdir()
    found = extract_files(store.path(base.digest), dest, ["/etc/os-release", "usr/bin/hi"])
    assert found == {"etc/os-release": dest / "etc" / "os-release"}  # symlinks are not extracted
    assert found["etc/os-release"].read_bytes().startswith(b"ID=uvdock-test")


def test_opaque_whiteouts_and_replacing_a_directory(tmp_path: Path, store: BlobStore) -> None:
    lower = write_layer(
        [
            FileEntry(path="opt/keep/a", source=b"a"),
            FileEntry(path="opt/keep/b", source=b"b"),
            FileEntry(path="srv/dir/x", source=b"x"),
        ],
        store,
        epoch=EPOCH,
    )
    upper = tmp_path / "upper.tar"
    with tarfile.open(upper, "w") as tar:
        for name, kind in (
            ("opt/keep/", tarfile.DIRTYPE),
            ("opt/keep/.wh..wh..opq", tarfile.REGTYPE),
            ("opt/keep/c", tarfile.REGTYPE),
            ("srv/dir", tarfile.REGTYPE),
        ):
            tar.addfile(_info(name, kind), io.BytesIO(b""))
    merged = image_files([store.path(lower.digest), upper])
    assert sorted(merged) == ["opt", "opt/keep", "opt/keep/c", "srv", "srv/dir"]
    assert merged["srv/dir"].kind == "file"


def test_non_layers_are_reported(tmp_path: Path) -> None:
    zstd = tmp_path / "layer.zst"
    zstd.write_bytes(b"\x28\xb5\x2f\xfd" + b"\0" * 64)
    with pytest.raises(LayerError, match="zstd"):
        list(iter_layer(zstd))
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(LayerError):
        list(iter_layer(junk))
