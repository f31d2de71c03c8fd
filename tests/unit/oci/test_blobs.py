"""The content-addressed blob cache and its layer selectors."""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import stat
from pathlib import Path

import pytest

from uvdock.oci import blobs
from uvdock.oci.blobs import BlobStore, CachedBlobMissingError, default_root, selector_key
from uvdock.oci.model import OCI_LAYER_GZIP, DigestError, LayerInfo, sha256_digest


def _leftovers(store: BlobStore) -> list[Path]:
    return sorted(store.tmp_dir.iterdir()) if store.tmp_dir.exists() else []


def test_all_names_exist() -> None:
    for name in blobs.__all__:
        assert hasattr(blobs, name), name


def test_default_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "uvdock" / "oci"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_root({}) == tmp_path / "home" / ".cache" / "uvdock" / "oci"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert BlobStore().root == tmp_path / "xdg" / "uvdock" / "oci"


def test_put_bytes_layout_and_read_back(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = store.put_bytes(b"hello")
    assert digest == "sha256:" + hashlib.sha256(b"hello").hexdigest()
    path = store.path(digest)
    assert path == tmp_path / "blobs" / "sha256" / digest.removeprefix("sha256:")
    assert store.has(digest)
    assert store.read_bytes(digest) == b"hello"
    with store.open(digest) as stream:
        assert stream.read() == b"hello"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444  # hard-linked into layouts: never edited
    assert store.put_bytes(b"hello") == digest  # already there: a no-op
    assert _leftovers(store) == []


def test_missing_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    missing = sha256_digest(b"nope")
    assert not store.has(missing)
    with pytest.raises(CachedBlobMissingError, match="not in the cache"):
        store.open(missing)


def test_hostile_digest_never_names_a_path(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(DigestError):
        store.path("sha256:../../../etc/passwd")
    with pytest.raises(DigestError):
        store.put_bytes(b"x", expected_digest="sha256:../x")


def test_put_file_streams_and_verifies(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = bytes(range(256)) * 10_000  # more than one chunk
    digest, size = store.put_file(io.BytesIO(data), expected_digest=sha256_digest(data))
    assert (digest, size) == (sha256_digest(data), len(data))
    assert store.read_bytes(digest) == data


def test_put_file_mismatch_leaves_nothing_behind(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    claimed = sha256_digest(b"what the registry said")
    with pytest.raises(DigestError, match="does not match its digest"):
        store.put_file(io.BytesIO(b"what arrived"), expected_digest=claimed)
    assert not store.has(claimed)
    assert not store.has(sha256_digest(b"what arrived"))
    assert _leftovers(store) == []
    with pytest.raises(DigestError):
        store.put_bytes(b"what arrived", expected_digest=claimed)
    assert not store.has(sha256_digest(b"what arrived"))


def test_writer_discards_on_error(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)

    def fail_half_way() -> None:
        with store.writer() as writer:
            writer.write(b"half a layer")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_half_way()
    assert not store.has(sha256_digest(b"half a layer"))
    assert _leftovers(store) == []


def test_concurrent_writers_of_the_same_and_different_blobs(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    payloads = [bytes([n % 3]) * 3_000_000 for n in range(12)]

    def put(data: bytes) -> str:
        return store.put_file(io.BytesIO(data))[0]

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        digests = list(pool.map(put, payloads))
    assert digests == [sha256_digest(p) for p in payloads]
    for digest, data in zip(digests, payloads, strict=True):
        assert store.read_bytes(digest) == data
    assert len(list((tmp_path / "blobs" / "sha256").iterdir())) == 3
    assert _leftovers(store) == []


def test_selectors(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = store.put_bytes(b"layer bytes")
    layer = LayerInfo(digest=digest, diff_id=sha256_digest(b"tar"), size=11)
    key = selector_key({"packages": ["numpy==2.1.0"], "platform": "linux/amd64"})
    assert store.get_selector(key) is None
    store.put_selector(key, layer)
    assert store.get_selector(key) == layer
    assert store.get_selector(key).media_type == OCI_LAYER_GZIP  # type: ignore[union-attr]
    # replaced atomically; the last writer wins
    other = LayerInfo(digest=store.put_bytes(b"other"), diff_id=sha256_digest(b"t2"), size=5)
    store.put_selector(key, other)
    assert store.get_selector(key) == other
    assert sorted(p.name for p in (tmp_path / "selectors").iterdir()) == [f"{key}.json"]


def test_selector_whose_blob_is_gone_is_a_miss(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = store.put_bytes(b"evicted")
    key = selector_key("inputs")
    store.put_selector(key, LayerInfo(digest=digest, diff_id=sha256_digest(b"x"), size=7))
    store.path(digest).unlink()
    assert store.get_selector(key) is None


def test_corrupt_or_hostile_selectors_are_misses(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    key = selector_key("inputs")
    (tmp_path / "selectors").mkdir()
    (tmp_path / "selectors" / f"{key}.json").write_text("{not json")
    assert store.get_selector(key) is None
    (tmp_path / "selectors" / f"{key}.json").write_text('{"digest": "sha256:../x"}')
    assert store.get_selector(key) is None
    assert store.get_selector("../../etc/passwd") is None
    with pytest.raises(DigestError):
        store.put_selector("../x", LayerInfo(digest=sha256_digest(b""), diff_id="", size=0))


def test_selector_key_is_canonical() -> None:
    assert selector_key({"a": 1, "b": [1, 2]}) == selector_key({"b": [1, 2], "a": 1})
    assert selector_key({"a": 1}) != selector_key({"a": 2})
    assert len(selector_key(None)) == 64
