"""Hostile and broken OCI input (issue 12): one clean error each, in bounded time and space.

Real parts where they can produce the input: layouts, layers and blobs are
real files (a symlink to ``/dev/zero``, a FIFO), documents are real JSON
bytes. Only the registry's answers are scripted (``httpx.MockTransport``);
``tests/integration/test_oci_registry.py`` does the endless blob against the
loopback registry behind the fault proxy.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import resource
import signal
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any, cast

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.oci.images import SmallImage, small_image
from uvdock._proc import ProcessResult
from uvdock.errors import UvdockError
from uvdock.oci import daemon, layerread
from uvdock.oci.blobs import BlobStore
from uvdock.oci.engine import resolve_base
from uvdock.oci.layerread import LayerMember, image_files, iter_layer
from uvdock.oci.layout import LayoutError, read_layout
from uvdock.oci.layoutwrite import write_layout
from uvdock.oci.model import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    BlobSizeError,
    Descriptor,
    ImageError,
    Platform,
    canonical_json,
    sha256_digest,
)
from uvdock.oci.pyenv import install_for_platform
from uvdock.oci.registry import RegistryClient
from uvdock.oci.schema import DocumentError, check_document, parse_document

# --- the base-layer scan is linear -------------------------------------------------------------


def _write_layer(path: Path, names: list[str]) -> Path:
    """A gzip layer with ``names``: a trailing ``/`` makes a directory, others empty files."""
    with gzip.open(path, "wb", compresslevel=1) as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        for name in names:
            info = tarfile.TarInfo(name.rstrip("/"))
            info.type = tarfile.DIRTYPE if name.endswith("/") else tarfile.REGTYPE
            tar.addfile(info)
    return path


def _many_files(directory: Path, files: int) -> list[Path]:
    """A base layer of ``files`` files in directories of 50, and one that deletes and replaces."""
    base: list[str] = []
    upper: list[str] = []
    for folder in range(files // 50):
        base.append(f"usr/lib/d{folder}/")
        base += [f"usr/lib/d{folder}/f{number}.py" for number in range(50)]
        if folder % 3 == 0:
            upper.append(f"usr/lib/.wh.d{folder}")
        elif folder % 3 == 1:
            upper += [f"usr/lib/d{folder}/f{number}.py" for number in range(50)]
    return [
        _write_layer(directory / f"base-{files}.tar.gz", base),
        _write_layer(directory / f"upper-{files}.tar.gz", upper),
    ]


def _lines_run_in_layerread(layers: list[Path]) -> int:
    """How many lines of ``layerread`` merging ``layers`` executes: work, counted, not timed."""
    count = 0
    module_file = layerread.__file__

    def tracer(frame: FrameType, event: str, _arg: Any) -> Any:
        nonlocal count
        if frame.f_code.co_filename != module_file:
            return None  # do not trace tarfile, gzip: only the merge's own loops
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        image_files(layers)
    finally:
        sys.settrace(None)
    return count


def test_base_scan_work_grows_linearly_with_the_files(tmp_path: Path) -> None:
    # Issue 12: 10k/20k/40k base files took 9.8/26.6/102.8 s, every replaced
    # file scanned every path merged so far. Lines executed are counted, not
    # seconds, so the test is exact on a loaded machine: four times the
    # files must cost about four times the work (sixteen when quadratic).
    small = _lines_run_in_layerread(_many_files(tmp_path, 300))
    large = _lines_run_in_layerread(_many_files(tmp_path, 1200))
    assert large / small < 6, (small, large)


def _reference_merge(layers: list[Path]) -> dict[str, LayerMember]:
    """The obvious (quadratic) whiteout semantics, as the oracle for ``image_files``."""
    merged: dict[str, LayerMember] = {}

    def remove_below(path: str, *, keep_self: bool) -> None:
        prefix = f"{path}/" if path else ""
        for key in [k for k in merged if k.startswith(prefix)]:
            del merged[key]
        if not keep_self:
            merged.pop(path, None)

    for layer in layers:
        members = list(iter_layer(layer))
        for member in members:
            parent, _, name = member.path.rpartition("/")
            if name == ".wh..wh..opq":
                remove_below(parent, keep_self=True)
            elif name.startswith(".wh."):
                remove_below(f"{parent}/{name[4:]}" if parent else name[4:], keep_self=False)
        for member in members:
            if member.is_whiteout:
                continue
            if member.kind != "dir":
                remove_below(member.path, keep_self=True)
            merged[member.path] = member
    return merged


_NAMES = st.sampled_from(["a", "b", "c"])
_PATHS = st.lists(_NAMES, min_size=1, max_size=3).map("/".join)
_MEMBERS = st.one_of(
    _PATHS.map(lambda path: f"{path}/"),  # a directory
    _PATHS,  # a file
    _PATHS.map(lambda path: path.rpartition("/")[0] + "/.wh." + path.rpartition("/")[2]),
    _PATHS.map(lambda path: f"{path}/.wh..wh..opq"),
)


@settings(max_examples=150, deadline=None)
@given(stack=st.lists(st.lists(_MEMBERS, max_size=8, unique=True), min_size=1, max_size=3))
def test_base_scan_merges_as_the_runtime_does(stack: list[list[str]]) -> None:
    # The linear merge must give exactly what the plain definition gives,
    # whatever mix of files, directories, whiteouts and opaque whiteouts.
    with tempfile.TemporaryDirectory(prefix="uvdock-hostile-") as name:
        directory = Path(name)
        layers = [
            _write_layer(directory / f"{number}.tar", [name.lstrip("/") for name in names])
            for number, names in enumerate(stack)
        ]
        assert image_files(layers) == _reference_merge(layers)


# --- unbounded disk: a blob is read up to its declared size plus one byte ----------------------


@pytest.fixture
def bounded_disk() -> Iterator[None]:
    """No file this process writes may pass 64 MiB, and nothing may block for more than 20 s.

    Without the fixes under test, a link to ``/dev/zero`` filled the disk
    and a FIFO blocked forever; with this guard such a run fails at once
    (``EFBIG``, ``TimeoutError``) instead of taking the machine with it.
    """
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_xfsz = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not a killed process

    def expire(_signum: int, _frame: FrameType | None) -> None:
        msg = "blocked for 20 s"
        raise TimeoutError(msg)

    old_alarm = signal.signal(signal.SIGALRM, expire)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, old_limit[1]))
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGALRM, old_alarm)
        signal.signal(signal.SIGXFSZ, old_xfsz)


def _layout(tmp_path: Path) -> tuple[Path, SmallImage]:
    """A real OCI layout (tag v1) of the two-layer test image, with its own blob files."""
    store = BlobStore(tmp_path / "source")
    image = small_image(store)
    dest = tmp_path / "layout"
    write_layout(dest, store=store, image=image.manifest, ref_name="v1", link=False)
    return dest, image


def _blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")


def _nothing_kept(store: BlobStore, digest: str) -> None:
    """Neither the blob nor a partial download of it is left in the cache."""
    assert not store.has(digest)
    assert not store.tmp_dir.exists() or not any(store.tmp_dir.iterdir())


@pytest.mark.usefixtures("bounded_disk")
def test_layout_layer_linked_to_dev_zero_is_refused(tmp_path: Path) -> None:
    layout, image = _layout(tmp_path)
    layer = image.layers[1]
    blob = _blob(layout, layer.digest)
    blob.unlink()
    blob.symlink_to("/dev/zero")
    opened = read_layout(layout)  # the documents are fine: the layer is read on import
    store = BlobStore(tmp_path / "cache")
    with pytest.raises(LayoutError) as caught:
        opened.import_into(store, opened.image(ref_name="v1"))
    line = caught.value.one_line()
    assert f"{blob}: blob {layer.digest} is a device, not a regular file" in line
    assert "copy the image again from a source you trust" in line
    assert caught.value.exit_code == 1
    _nothing_kept(store, layer.digest)


@pytest.mark.usefixtures("bounded_disk")
def test_layout_layer_larger_than_its_descriptor_is_refused(tmp_path: Path) -> None:
    layout, image = _layout(tmp_path)
    layer = image.layers[0]
    blob = _blob(layout, layer.digest)
    blob.write_bytes(blob.read_bytes() + b"\0" * (32 << 20))  # a regular file, 32 MiB too long
    opened = read_layout(layout)
    store = BlobStore(tmp_path / "cache")
    with pytest.raises(BlobSizeError) as caught:
        opened.import_into(store, opened.image())
    assert (
        f"blob {layer.digest} from {blob} holds more than the {layer.size} bytes its "
        "descriptor declares" in caught.value.one_line()
    )
    _nothing_kept(store, layer.digest)


class _Counting(io.RawIOBase):
    """An endless stream of zeros that counts what was read from it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        buffer[:size] = bytes(size)
        self.read_bytes += size
        return size


@pytest.mark.usefixtures("bounded_disk")
def test_blob_store_reads_at_most_the_declared_size_plus_one(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "cache")
    digest = "sha256:" + hashlib.sha256(b"hello").hexdigest()
    endless = _Counting()
    with pytest.raises(BlobSizeError, match="more than the 5 bytes"):
        store.put_file(
            cast("IO[bytes]", endless), expected_digest=digest, expected_size=5, source="a test"
        )
    assert endless.read_bytes == 6
    with pytest.raises(BlobSizeError, match="only 3 of the 5 bytes"):
        store.put_file(io.BytesIO(b"hel"), expected_digest=digest, expected_size=5)
    assert store.put_file(io.BytesIO(b"hello"), expected_digest=digest, expected_size=5) == (
        digest,
        5,
    )
    with Path("/dev/zero").open("rb") as zero, pytest.raises(BlobSizeError):
        store.put_file(zero, expected_digest=digest, expected_size=5)


@pytest.mark.usefixtures("bounded_disk")
def test_layout_documents_must_be_small_regular_files(tmp_path: Path) -> None:
    layout, image = _layout(tmp_path)
    index = layout / "index.json"
    saved = index.read_bytes()
    index.unlink()
    os.mkfifo(index)  # would block a plain open() until someone writes
    with pytest.raises(LayoutError, match=r"index\.json is a FIFO, not a regular file"):
        read_layout(layout)
    index.unlink()
    index.write_bytes(saved[:-1] + b" " * (5 << 20) + b"}")  # valid JSON, over 4 MiB
    with pytest.raises(DocumentError, match="over the 4 MiB"):
        read_layout(layout)
    index.write_bytes(saved)
    manifest = _blob(layout, image.manifest.digest)
    manifest.unlink()
    manifest.symlink_to("/dev/zero")
    with pytest.raises(LayoutError, match=f"blob {image.manifest.digest} is a device"):
        read_layout(layout)


# --- the registry: an endless blob stops at its declared size ---------------------------------


def _endless_zeros(sent: list[int]) -> Iterator[bytes]:
    chunk = bytes(64 << 10)
    while sum(sent) < (256 << 20):  # a guard for the test itself: a quarter GiB, then stop
        sent.append(len(chunk))
        yield chunk


def _registry(routes: dict[str, Callable[[httpx.Request], httpx.Response]]) -> RegistryClient:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return httpx.Response(200, json={})
        for prefix, handler in routes.items():
            if request.url.path.startswith(prefix):
                return handler(request)
        return httpx.Response(404, json={"errors": [{"code": "NOT_FOUND"}]})

    return RegistryClient(
        "registry.example", credentials=None, transport=httpx.MockTransport(answer), retries=0
    )


@pytest.mark.usefixtures("bounded_disk")
def test_registry_blob_that_streams_forever_stops_after_its_declared_size() -> None:
    sent: list[int] = []
    digest = "sha256:" + hashlib.sha256(b"hello").hexdigest()
    client = _registry(
        {"/v2/app/blobs/": lambda _: httpx.Response(200, content=_endless_zeros(sent))}
    )
    out = io.BytesIO()
    with client, pytest.raises(BlobSizeError) as caught:
        client.get_blob("app", digest, out, size=5)
    assert f"blob {digest} from registry.example/app holds more than the 5 bytes" in (
        caught.value.one_line()
    )
    assert len(out.getvalue()) <= 6
    assert sum(sent) <= 2 * (64 << 10)  # a chunk or two of the stream, not the stream


def test_registry_blob_whose_content_length_is_over_its_size_is_refused_unread() -> None:
    digest = "sha256:" + hashlib.sha256(b"hello").hexdigest()
    big = b"\0" * 100_000
    client = _registry({"/v2/app/blobs/": lambda _: httpx.Response(200, content=big)})
    out = io.BytesIO()
    with client, pytest.raises(BlobSizeError, match="more than the 5 bytes"):
        client.get_blob("app", digest, out, size=5)
    assert out.getvalue() == b""


def _image_documents(layer: bytes) -> tuple[bytes, bytes, dict[str, Any]]:
    """(manifest, config) bytes of a one-layer linux/amd64 image, and the manifest as JSON."""
    config = canonical_json({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]},
    })  # fmt: skip
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256_digest(config), "size": len(config)},
        "layers": [
            {"mediaType": OCI_LAYER_GZIP, "digest": sha256_digest(layer), "size": len(layer)}
        ],
    }
    return canonical_json(manifest), config, manifest


def _serve_image(
    manifest: bytes, blobs: dict[str, Callable[[], httpx.Response]]
) -> Callable[[str], RegistryClient]:
    def manifests(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=manifest, headers={"Content-Type": OCI_MANIFEST})

    def blob(request: httpx.Request) -> httpx.Response:
        digest = request.url.path.rsplit("/", 1)[-1]
        return blobs[digest]() if digest in blobs else httpx.Response(404)

    client = _registry({"/v2/app/manifests/": manifests, "/v2/app/blobs/": blob})
    return lambda _host: client


@pytest.mark.usefixtures("bounded_disk")
def test_base_image_whose_layer_streams_forever_keeps_nothing(tmp_path: Path) -> None:
    # The registry declares 5 bytes in the manifest and then streams zeros forever.
    layer = b"hello"
    manifest, config, _ = _image_documents(layer)
    sent: list[int] = []
    client_for = _serve_image(manifest, {
        sha256_digest(config): lambda: httpx.Response(200, content=config),
        sha256_digest(layer): lambda: httpx.Response(200, content=_endless_zeros(sent)),
    })  # fmt: skip
    store = BlobStore(tmp_path / "cache")
    with pytest.raises(BlobSizeError, match="holds more than the 5 bytes"):
        resolve_base(
            "registry.example/app:1",
            [Platform.parse("linux/amd64")],
            store,
            client_for=client_for,
            on_event=lambda _: None,
        )
    assert sum(sent) <= 2 * (64 << 10)
    _nothing_kept(store, sha256_digest(layer))


# --- documents of the wrong shape: one DocumentError naming the document and key --------------


def _put(layout: Path, data: bytes) -> str:
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    _blob(layout, sha256_digest(data)).write_bytes(data)
    return sha256_digest(data)


def _descriptor(data: bytes, media_type: str) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data)}


def _valid_documents() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], bytes]:
    """(index, manifest, config, layer) of a one-layer image; the index's entry is the manifest."""
    layer = gzip.compress(b"\0" * 1024, mtime=0)
    config: dict[str, Any] = {
        "architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["python3"], "Entrypoint": None},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]},
        "history": [{"created_by": "base"}],
    }  # fmt: skip
    config_data = canonical_json(config)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _descriptor(config_data, OCI_CONFIG),
        "layers": [_descriptor(layer, OCI_LAYER_GZIP)],
    }
    index: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{**_descriptor(canonical_json(manifest), OCI_MANIFEST),
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    }  # fmt: skip
    return index, manifest, config, layer


def _relink(index: Any, manifest: Any, config: Any) -> None:
    """Point the manifest at the (edited) config and the index at the manifest, when they can."""
    if isinstance(manifest, dict) and isinstance(manifest.get("config"), dict):
        manifest["config"].update(_descriptor(canonical_json(config), OCI_CONFIG))
    entries = index.get("manifests") if isinstance(index, dict) else None
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        entries[0].update(_descriptor(canonical_json(manifest), OCI_MANIFEST))


def _write_raw_layout(
    layout: Path, *, index: Any, manifest: Any, config: Any, layer: bytes, relink: bool = True
) -> None:
    """A layout of these documents as they are; with ``relink`` the digests follow the edits."""
    if relink:
        _relink(index, manifest, config)
    _put(layout, canonical_json(config))
    _put(layout, layer)
    _put(layout, canonical_json(manifest))
    (layout / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
    (layout / "index.json").write_bytes(canonical_json(index))


_WRONG_TYPES = [
    ("manifest", ["layers"], 5, "manifest layers must be an array of descriptors, not a number"),
    ("manifest", ["mediaType"], [], "manifest mediaType must be a string, not an array"),
    ("manifest", ["layers", 0, "size"], "5",
     "manifest layers[0].size must be an integer, not a string"),
    ("manifest", ["layers", 0, "digest"], "sha256:xyz",
     ("manifest layers[0].digest must be a sha256 digest (sha256:<64 lowercase hex digits>), "
      "not 'sha256:xyz'")),
    ("manifest", ["layers", 0, "size"], -1, "manifest layers[0].size must be between 0 and 2^63-1"),
    ("manifest", ["config"], None, "manifest config must be an object, not null"),
    ("manifest", ["schemaVersion"], 1, "manifest schemaVersion must be 2, not 1"),
    ("index", ["manifests"], "x", "index manifests must be an array of descriptors, not a string"),
    ("index", ["manifests", 0, "platform"], "linux/amd64",
     "index manifests[0].platform must be an object, not a string"),
    ("config", ["rootfs", "diff_ids"], 7,
     "config rootfs.diff_ids must be an array of sha256 digests, not a number"),
    ("config", ["config", "Env"], "PATH=/x", "config config.Env must be an array of strings"),
    ("config", ["history"], {}, "config history must be an array of objects, not an object"),
    ("config", ["architecture"], None, "config architecture must be a string, not null"),
]  # fmt: skip


def _set(document: Any, path: list[str | int], value: Any) -> None:
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


@pytest.mark.parametrize(("kind", "path", "value", "said"), _WRONG_TYPES)
def test_layout_documents_of_the_wrong_shape_are_one_clean_error(
    tmp_path: Path, kind: str, path: list[str | int], value: Any, said: str
) -> None:
    index, manifest, config, layer = _valid_documents()
    _set({"index": index, "manifest": manifest, "config": config}[kind], path, value)
    _write_raw_layout(tmp_path, index=index, manifest=manifest, config=config, layer=layer)
    with pytest.raises(DocumentError) as caught:
        read_layout(tmp_path)
    line = caught.value.one_line()
    assert said in line
    where = str(tmp_path / "index.json") if kind == "index" else str(tmp_path)
    assert line.startswith(where)
    assert isinstance(caught.value, LayoutError)
    assert "from a source you trust" in line


def _registry_of(
    index: Any, manifest: Any, config: Any, layer: bytes
) -> Callable[[str], RegistryClient]:
    """A scripted registry serving these documents: the tag is the index."""
    config_data, manifest_data = canonical_json(config), canonical_json(manifest)
    blobs = {sha256_digest(config_data): config_data, sha256_digest(layer): layer}
    manifests = {sha256_digest(manifest_data): (manifest_data, OCI_MANIFEST),
                 "1": (canonical_json(index), OCI_INDEX)}  # fmt: skip

    def serve_manifest(request: httpx.Request) -> httpx.Response:
        found = manifests.get(request.url.path.rsplit("/", 1)[-1])
        if found is None:
            return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN"}]})
        return httpx.Response(200, content=found[0], headers={"Content-Type": found[1]})

    def serve_blob(request: httpx.Request) -> httpx.Response:
        found = blobs.get(request.url.path.rsplit("/", 1)[-1])
        return httpx.Response(200, content=found) if found is not None else httpx.Response(404)

    client = _registry({"/v2/app/manifests/": serve_manifest, "/v2/app/blobs/": serve_blob})
    return lambda _host: client


@pytest.mark.parametrize(("kind", "path", "value", "said"), _WRONG_TYPES)
def test_registry_documents_of_the_wrong_shape_are_one_clean_error(
    tmp_path: Path, kind: str, path: list[str | int], value: Any, said: str
) -> None:
    index, manifest, config, layer = _valid_documents()
    _set({"index": index, "manifest": manifest, "config": config}[kind], path, value)
    _relink(index, manifest, config)
    with pytest.raises(DocumentError) as caught:
        resolve_base(
            "registry.example/app:1",
            [Platform.parse("linux/amd64")],
            BlobStore(tmp_path / "cache"),
            client_for=_registry_of(index, manifest, config, layer),
            on_event=lambda _: None,
        )
    line = caught.value.one_line()
    assert said in line
    assert line.startswith("registry.example/app:1 ")


def test_index_nested_3000_deep_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    index, manifest, config, layer = _valid_documents()
    _write_raw_layout(tmp_path, index=index, manifest=manifest, config=config, layer=layer)
    assert len(read_layout(tmp_path).images) == 1
    entry = index["manifests"][0]
    for depth in range(3000):
        nested = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]})
        _put(tmp_path, nested)
        entry = _descriptor(nested, OCI_INDEX)
        if depth == 2:  # three deep is what some registries do: still read
            (tmp_path / "index.json").write_bytes(canonical_json({**index, "manifests": [entry]}))
            assert len(read_layout(tmp_path).images) == 1
    (tmp_path / "index.json").write_bytes(canonical_json({**index, "manifests": [entry]}))
    with pytest.raises(DocumentError, match="indexes nest more than 8 deep"):
        read_layout(tmp_path)


@pytest.mark.parametrize(
    ("depth", "said"), [(100, "nests more than 64 levels deep"), (200_000, "nests too deep")]
)
def test_deeply_nested_json_is_refused(tmp_path: Path, depth: int, said: str) -> None:
    index, manifest, config, layer = _valid_documents()
    _write_raw_layout(tmp_path, index=index, manifest=manifest, config=config, layer=layer)
    deep = b'{"schemaVersion":2,"x":' + b"[" * depth + b"]" * depth + b',"manifests":[]}'
    (tmp_path / "index.json").write_bytes(deep)
    with pytest.raises(DocumentError, match=said):
        read_layout(tmp_path)


# --- fuzzing every reader: a parsed value or the one clean error, never another exception -----

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
    | st.sampled_from(["sha256:" + "a" * 64, "sha256:xyz", OCI_MANIFEST, OCI_INDEX, "layers"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)  # fmt: skip


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if prefix:
        yield prefix
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        yield from _paths(child, (*prefix, key))


def _mutated(data: st.DataObject, document: dict[str, Any]) -> Any:
    """``document`` with one value replaced by arbitrary JSON, or one key deleted."""
    paths = list(_paths(document))
    path = data.draw(st.sampled_from(paths))
    parent: Any = document
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and data.draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(_JSON)
    return document


_KINDS = st.sampled_from(["index", "manifest", "config"])


@settings(max_examples=300, deadline=2000)
@given(data=st.data(), kind=_KINDS)
def test_fuzz_schema_readers(data: st.DataObject, kind: str) -> None:
    index, manifest, config, _ = _valid_documents()
    document = {"index": index, "manifest": manifest, "config": config}[kind]
    raw = data.draw(
        st.one_of(
            st.just(canonical_json(_mutated(data, document))),
            _JSON.map(canonical_json),
            st.binary(max_size=64),
        )
    )
    try:
        parsed = parse_document(raw, where="fuzz")
        checked = check_document(parsed, kind, where="fuzz")  # type: ignore[arg-type]
    except DocumentError:
        return
    assert isinstance(checked, dict)


@settings(max_examples=200, deadline=2000)
@given(value=_JSON)
def test_fuzz_descriptor_from_json(value: Any) -> None:
    try:
        descriptor = Descriptor.from_json(value)
    except ImageError:
        return
    assert isinstance(descriptor, Descriptor)


@settings(max_examples=120, deadline=5000)
@given(data=st.data(), kind=_KINDS)
def test_fuzz_layout_reader(data: st.DataObject, kind: str) -> None:
    index, manifest, config, layer = _valid_documents()
    _mutated(data, {"index": index, "manifest": manifest, "config": config}[kind])
    with tempfile.TemporaryDirectory(prefix="uvdock-fuzz-") as name:
        root = Path(name)
        _write_raw_layout(root / "layout", index=index, manifest=manifest, config=config,
                          layer=layer, relink=data.draw(st.booleans()))  # fmt: skip
        try:
            layout = read_layout(root / "layout")
            for image in layout.images:
                layout.import_into(BlobStore(root / "cache"), image)
        except ImageError:
            return


@settings(max_examples=120, deadline=5000)
@given(data=st.data(), kind=_KINDS)
def test_fuzz_registry_base_reader(data: st.DataObject, kind: str) -> None:
    index, manifest, config, layer = _valid_documents()
    _mutated(data, {"index": index, "manifest": manifest, "config": config}[kind])
    if data.draw(st.booleans()):
        _relink(index, manifest, config)
    with tempfile.TemporaryDirectory(prefix="uvdock-fuzz-") as name:
        try:
            resolve_base(
                "registry.example/app:1",
                [Platform.parse("linux/amd64")],
                BlobStore(Path(name)),
                client_for=_registry_of(index, manifest, config, layer),
                on_event=lambda _: None,
            )
        except UvdockError:  # DocumentError, DigestError, "no linux/amd64 image", ...
            return


@settings(max_examples=120, deadline=5000)
@given(data=st.data(), kind=_KINDS)
def test_fuzz_saved_archive_reader(data: st.DataObject, kind: str) -> None:
    # What `docker save` wrote is flattened before read_layout sees it (uvdock.oci.daemon).
    index, manifest, config, layer = _valid_documents()
    _mutated(data, {"index": index, "manifest": manifest, "config": config}[kind])
    with tempfile.TemporaryDirectory(prefix="uvdock-fuzz-") as name:
        root = Path(name)
        _write_raw_layout(root, index=index, manifest=manifest, config=config, layer=layer,
                          relink=data.draw(st.booleans()))  # fmt: skip
        try:
            daemon._flatten_index(root, where="docker-daemon:fuzz")
        except UvdockError:  # SavedArchiveError, DocumentError, DaemonImageError
            return


# --- a 401 from a package index: refused credentials are not "missing" ------------------------

SECRET = "s3cret-index-token"
_UV_401 = (
    "  x Failed to download `private-lib==1.0`\n"
    "  |-> An index URL (https://pkgs.example/simple/) could not be queried due to a lack of "
    "valid authentication credentials (401 Unauthorized).\n"
)


def _install_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], *, index: str | None
) -> str:
    """The error uvdock gives when uv reports a 401, with ``environ`` as the real environment."""
    for name in [n for n in os.environ if n.startswith("UV_INDEX_") or n == "NETRC"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc of this machine's
    for name, value in environ.items():
        monkeypatch.setenv(name, value)

    def uv_answers_401(argv: Sequence[str], **_: Any) -> ProcessResult:
        return ProcessResult(argv=tuple(argv), returncode=1, stdout="", stderr=_UV_401)

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("private-lib==1.0\n")
    with pytest.raises(UvdockError) as caught:
        install_for_platform(
            requirements, tmp_path / "site", uv="uv", platform="x86_64-manylinux_2_36",
            python_version="3.13", runner=uv_answers_401,
            extra=("--index", f"{index}=https://pkgs.example/simple/") if index else (),
        )  # fmt: skip
    assert caught.value.exit_code == 1
    return caught.value.one_line()


def test_401_with_the_index_credentials_set_says_they_were_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {"UV_INDEX_PRIVATE_REPO_USERNAME": "ci-bot", "UV_INDEX_PRIVATE_REPO_PASSWORD": SECRET}
    line = _install_refused(tmp_path, monkeypatch, environ, index="private-repo")
    assert (
        "the package index https://pkgs.example/simple/ refused the credentials in "
        "UV_INDEX_PRIVATE_REPO_USERNAME and UV_INDEX_PRIVATE_REPO_PASSWORD (401)" in line
    )
    assert "export" not in line
    assert SECRET not in line
    assert "ci-bot" not in line


def test_401_with_half_the_credentials_names_the_missing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {"UV_INDEX_PRIVATE_USERNAME": "ci-bot"}
    line = _install_refused(tmp_path, monkeypatch, environ, index="private")
    assert "UV_INDEX_PRIVATE_USERNAME is set but UV_INDEX_PRIVATE_PASSWORD is not" in line
    assert "export UV_INDEX_PRIVATE_PASSWORD=" in line


def test_401_without_credentials_says_what_to_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = _install_refused(tmp_path, monkeypatch, {}, index="private")
    assert "refused uv without credentials (401)" in line
    assert "export UV_INDEX_PRIVATE_USERNAME and UV_INDEX_PRIVATE_PASSWORD" in line


def test_401_with_a_netrc_entry_names_the_netrc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine pkgs.example login ci-bot password {SECRET}\n")
    line = _install_refused(tmp_path, monkeypatch, {"NETRC": str(netrc)}, index=None)
    assert f"refused the credentials in {netrc} (401)" in line
    assert "export" not in line
    assert SECRET not in line
