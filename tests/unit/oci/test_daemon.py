"""``docker-daemon:IMAGE``: what ``docker save`` writes, read safely as an OCI layout.

The archives here are built byte for byte the way Docker 26.1 writes them
(classic store: an OCI manifest with uncompressed layers; containerd store:
the original index, with only the pulled platform's blobs; engines before 25:
``manifest.json`` and ``<id>/layer.tar``), plus hostile ones no engine writes.
A stand-in runner plays ``docker image save -o FILE`` by copying such an
archive to FILE; the real engines are in tests/integration/test_oci_daemon.py.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_runner import FakeRunner
from uvdock import errors
from uvdock._proc import ProcessResult
from uvdock.oci import daemon
from uvdock.oci.basepython import detect_python, scan_layers
from uvdock.oci.daemon import DaemonImageError, SavedArchiveError, saved_image
from uvdock.oci.layout import read_layout
from uvdock.oci.model import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_LAYER_TAR,
    OCI_MANIFEST,
    Platform,
)

AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")
NAME = "localhost:5000/standin/python:3.13-slim"

# Member = bytes (a file), None (a directory), or (type, linkname) for links and specials.
Member = bytes | None | tuple[bytes, str]


# --- building archives ------------------------------------------------------------


def _tar(members: Sequence[tuple[str, Member]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, member in members:
            info = tarfile.TarInfo(name)
            if member is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(member, tuple):
                info.type, info.linkname = member
                tar.addfile(info)
            else:
                info.size = len(member)
                tar.addfile(info, io.BytesIO(member))
    return out.getvalue()


def _layer() -> bytes:
    """A base layer (uncompressed) with a Python 3.13 in /usr/local/bin and Debian's libc6."""
    status = b"Package: libc6\nStatus: install ok installed\nVersion: 2.41-12\n\n"
    return _tar([
        ("usr/", None), ("usr/local/", None), ("usr/local/bin/", None),
        ("usr/local/bin/python3.13", b"\x7fELF"),
        ("var/", None), ("var/lib/", None), ("var/lib/dpkg/", None),
        ("var/lib/dpkg/status", status),
    ])  # fmt: skip


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob(data: bytes) -> str:
    return f"blobs/sha256/{_sha(data)[7:]}"


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _config(platform: Platform, layers: Sequence[bytes]) -> bytes:
    return _json({
        "architecture": platform.architecture, "os": platform.os,
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "PYTHON_VERSION=3.13.5"]},
        "rootfs": {"type": "layers", "diff_ids": [_sha(layer) for layer in layers]},
    })  # fmt: skip


def _manifest(config: bytes, layers: Sequence[bytes], *, docker: bool = False) -> bytes:
    layer_type = DOCKER_LAYER_GZIP if docker else OCI_LAYER_TAR
    return _json({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                   "digest": _sha(config), "size": len(config)},
        "layers": [{"mediaType": layer_type, "digest": _sha(b), "size": len(b)} for b in layers],
    })  # fmt: skip


def _descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": _sha(data), "size": len(data), **extra}


def _index(*entries: dict[str, Any]) -> bytes:
    return _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(entries)})


ANNOTATIONS = {
    "io.containerd.image.name": NAME,
    "org.opencontainers.image.ref.name": "3.13-slim",
}


def _with_dirs(files: Mapping[str, bytes]) -> list[tuple[str, Member]]:
    return [("blobs/", None), ("blobs/sha256/", None), *sorted(files.items())]


def classic_archive() -> bytes:
    """What Docker 26.1 with the classic image store writes: layers uncompressed, OCI types."""
    layer = _layer()
    config = _config(AMD64, [layer])
    manifest = _manifest(config, [layer])
    legacy = [{"Config": _blob(config), "RepoTags": [NAME], "Layers": [_blob(layer)]}]
    return _tar(_with_dirs({
        _blob(layer): layer, _blob(config): config, _blob(manifest): manifest,
        "index.json": _index(_descriptor(OCI_MANIFEST, manifest, annotations=ANNOTATIONS)),
        "manifest.json": _json(legacy),
        "oci-layout": b'{"imageLayoutVersion": "1.0.0"}',
    }))  # fmt: skip


def containerd_archive(*, arm64_present: bool = False) -> tuple[bytes, bytes]:
    """The containerd image store's: the original manifest list, gzip blobs, arm64 absent.

    Returns (archive, the amd64 gzip layer).
    """
    blobs: dict[str, bytes] = {}
    children = []
    gz_amd64 = b""
    for platform in (AMD64, ARM64):
        layer = _layer() + platform.architecture.encode().ljust(512, b"\0")
        compressed = gzip.compress(layer, mtime=0)
        config = _config(platform, [layer])
        manifest = _manifest(config, [compressed], docker=True)
        children.append(_descriptor(DOCKER_MANIFEST, manifest, platform=platform.to_json()))
        if platform == AMD64 or arm64_present:
            blobs |= {_blob(compressed): compressed, _blob(config): config,
                      _blob(manifest): manifest}  # fmt: skip
        if platform == AMD64:
            gz_amd64 = compressed
    listing = _json({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST_LIST, "manifests": children})
    blobs[_blob(listing)] = listing
    top = _descriptor(DOCKER_MANIFEST_LIST, listing, annotations=ANNOTATIONS)
    blobs["index.json"] = _index(top)
    blobs["oci-layout"] = b'{"imageLayoutVersion":"1.0.0"}'
    blobs["manifest.json"] = b"[]"
    return _tar(_with_dirs(blobs)), gz_amd64


def legacy_archive(*, layers: Sequence[bytes] | None = None, gzip_second: bool = False) -> bytes:
    """What engines before 25 write: ``<id>/layer.tar``, a repeated layer as a symlink."""
    layers = list(layers or [_layer(), _layer()])
    config = _config(AMD64, layers)
    stored = [gzip.compress(b, mtime=0) if gzip_second and i else b for i, b in enumerate(layers)]
    members: list[tuple[str, Member]] = []
    paths = []
    for number, data in enumerate(stored):
        directory = f"{number:064x}"
        members.append((f"{directory}/", None))
        members.append((f"{directory}/VERSION", b"1.0"))
        earlier = stored.index(data)
        if earlier < number:  # moby's legacy exporter links a layer it already wrote
            members.append(
                (f"{directory}/layer.tar", (tarfile.SYMTYPE, f"../{earlier:064x}/layer.tar"))
            )
        else:
            members.append((f"{directory}/layer.tar", data))
        paths.append(f"{directory}/layer.tar")
    listing = [{"Config": f"{_sha(config)[7:]}.json", "RepoTags": [NAME], "Layers": paths}]
    members += [(f"{_sha(config)[7:]}.json", config), ("manifest.json", _json(listing)),
                ("repositories", b"{}")]  # fmt: skip
    return _tar(members)


class Saver:
    """Plays ``docker image save -o FILE IMAGE``: writes ``archive`` to FILE."""

    def __init__(self, archive: bytes | None, result: tuple[int, str] = (0, "")) -> None:
        self.archive = archive
        self.result = result
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], **_: Any) -> ProcessResult:
        self.calls.append(list(argv))
        if self.archive is not None:
            Path(argv[argv.index("-o") + 1]).write_bytes(self.archive)
        code, err = self.result
        return ProcessResult(argv=tuple(argv), returncode=code, stdout="", stderr=err)


def _open(archive: bytes | None, image: str = NAME) -> Any:
    return saved_image(image, runner=Saver(archive), binary="docker")


# --- what the engines write ---------------------------------------------------------


def test_all_names_exist() -> None:
    for name in daemon.__all__:
        assert hasattr(daemon, name), name


def test_docker_save_streams_to_a_file_and_the_directory_goes_afterwards() -> None:
    saver = Saver(classic_archive())
    with saved_image(NAME, runner=saver, binary="/usr/bin/docker") as (layout, ref_name):
        assert ref_name is None
        assert (layout / "index.json").is_file()
        assert not (layout.parent / "image.tar").exists()  # unpacked, then removed at once
    assert saver.calls == [["/usr/bin/docker", "image", "save", "-o", saver.calls[0][4], NAME]]
    assert not layout.exists()


def test_classic_store_uncompressed_layers_are_read(tmp_path: Path) -> None:
    with _open(classic_archive()) as (path, _):
        layout = read_layout(path)
        image = layout.image(platform=AMD64)
        assert image.ref_name == "3.13-slim"
        assert [layer.media_type for layer in image.layers] == [OCI_LAYER_TAR]
        files, status = scan_layers([layout.blob_path(layer.digest) for layer in image.layers])
        target = detect_python(image.config, files, status)
        shutil.copytree(path, tmp_path / "kept")
    assert (target.version, target.executable, target.glibc) == (
        "3.13",
        "/usr/local/bin/python3.13",
        (2, 41),
    )
    # The layout stays a valid layout: the index is the one docker wrote, plus platforms.
    index = json.loads((tmp_path / "kept" / "index.json").read_text())
    assert index["manifests"][0]["platform"] == {"architecture": "amd64", "os": "linux"}


def test_containerd_store_nested_index_keeps_the_platforms_present() -> None:
    archive, gz_layer = containerd_archive()
    with _open(archive) as (path, ref_name):
        assert ref_name is None
        layout = read_layout(path)  # would fail on the absent arm64 manifest unless flattened
        assert [str(i.descriptor.platform) for i in layout.images] == ["linux/amd64"]
        image = layout.image(platform=AMD64)
        assert image.ref_name == "3.13-slim"
        assert [(d.media_type, d.digest) for d in image.layers] == [
            (DOCKER_LAYER_GZIP, _sha(gz_layer))
        ]
        files, _ = scan_layers([layout.blob_path(d.digest) for d in image.layers])
        assert "usr/local/bin/python3.13" in files


def test_a_platform_the_engine_lacks_is_said_of_the_engine() -> None:
    """The LayoutError raised inside the block names docker-daemon:IMAGE, not the temp dir."""
    archive, _ = containerd_archive()
    with pytest.raises(DaemonImageError) as raised, _open(archive) as (path, _):
        read_layout(path).image(platform=ARM64)
    message = raised.value.one_line()
    assert message.startswith(f"docker-daemon:{NAME}: no image matches linux/arm64")
    assert "the engine holds: 3.13-slim linux/amd64" in message
    assert f"docker pull --platform OS/ARCH {NAME}" in message
    assert "uvdock-daemon-" not in message


def test_containerd_store_with_both_platforms_pulled() -> None:
    archive, _ = containerd_archive(arm64_present=True)
    with _open(archive) as (path, _):
        layout = read_layout(path)
        assert sorted(str(i.descriptor.platform) for i in layout.images) == [
            "linux/amd64", "linux/arm64"
        ]  # fmt: skip


def test_an_index_without_any_present_manifest() -> None:
    archive, _ = containerd_archive()
    members = _members(archive)
    index = dict(members)["index.json"]
    assert isinstance(index, bytes)
    top = json.loads(index)["manifests"][0]["digest"][7:]
    only_index = [(n, d) for n, d in members if not n.startswith("blobs/") or n.endswith(top)]
    with (
        pytest.raises(DaemonImageError, match="holds none of the image's content"),
        _open(_tar(only_index)),
    ):
        pass


def test_a_manifest_whose_layer_is_absent_is_left_out() -> None:
    archive, gz_layer = containerd_archive()
    without = _tar([(n, d) for n, d in _members(archive) if n != _blob(gz_layer)])
    with pytest.raises(DaemonImageError, match="holds none of the image's content"), _open(without):
        pass


def _members(archive: bytes) -> list[tuple[str, Member]]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return [(m.name, None if m.isdir() else _read(tar, m)) for m in tar.getmembers()]


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = tar.extractfile(member)
    assert stream is not None
    return stream.read()


def test_legacy_archive_is_converted_with_every_layer_checked() -> None:
    with _open(legacy_archive()) as (path, _):
        layout = read_layout(path)
        image = layout.image(platform=AMD64)
        diff_ids = image.config["rootfs"]["diff_ids"]
        assert [d.digest for d in image.layers] == diff_ids
        assert [d.media_type for d in image.layers] == [OCI_LAYER_TAR, OCI_LAYER_TAR]
        assert image.descriptor.media_type == OCI_MANIFEST
        assert image.ref_name == "3.13-slim"
        files, status = scan_layers([layout.blob_path(d.digest) for d in image.layers])
        assert detect_python(image.config, files, status).version == "3.13"


def test_legacy_gzip_layer_is_verified_by_its_diff_id() -> None:
    layers = [_layer(), _layer() + b"x".ljust(512, b"\0")]
    with _open(legacy_archive(layers=layers, gzip_second=True)) as (path, _):
        image = read_layout(path).image()
        assert [d.media_type for d in image.layers] == [OCI_LAYER_TAR, OCI_LAYER_GZIP]


def test_legacy_layer_that_is_not_the_configs_is_refused() -> None:
    archive = legacy_archive(layers=[_layer(), _layer() + b"y".ljust(512, b"\0")])
    tampered = archive.replace(b"y" + b"\0" * 511, b"z" + b"\0" * 511)
    with pytest.raises(SavedArchiveError, match="is not the layer sha256:"), _open(tampered):
        pass


# --- hostile or broken archives -------------------------------------------------------


ABSOLUTE = "/tmp/uvdock-test-escaped-from-an-archive"
HOSTILE: dict[str, tuple[list[tuple[str, Member]], str]] = {
    "dot-dot": ([("../../../escaped", b"x")], "leaves the archive"),
    "dot-dot-inside": ([("blobs/../../../../escaped", b"x")], "leaves the archive"),
    "absolute": ([(ABSOLUTE, b"x")], "leaves the archive"),
    "symlink-out": ([("blobs", (tarfile.SYMTYPE, "/etc"))], "points outside it"),
    "symlink-up": ([("a/b", (tarfile.SYMTYPE, "../../etc"))], "points outside it"),
    "hard-link": ([("index.json", (tarfile.LNKTYPE, "/etc/passwd"))], "is a hard link"),
    "device": ([("dev", (tarfile.CHRTYPE, ""))], "only files and directories"),
    "fifo": ([("fifo", (tarfile.FIFOTYPE, ""))], "only files and directories"),
    "twice": ([("index.json", b"{}"), ("index.json", b"{}")], "twice"),
    "file-then-dir": ([("blobs", b"x"), ("blobs/sha256/", None)], "twice"),
}


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The temporary directories saved_image makes, under tmp_path/tmp (checked empty after)."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    yield root
    assert list(root.iterdir()) == []  # removed, also when unpacking failed


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_are_refused(case: str, tmp_path: Path, temp_root: Path) -> None:
    members, said = HOSTILE[case]
    with pytest.raises(SavedArchiveError, match=said) as raised, _open(_tar(members)):
        pass
    line = raised.value.one_line()
    assert line.startswith(f"docker-daemon:{NAME}: ")
    assert "\n" not in line
    assert "uvdock-daemon-" not in line  # says what is wrong with the archive, not where we put it
    # layout dir = tmp_path/tmp/uvdock-daemon-*/layout: three levels up is tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]
    assert not Path(ABSOLUTE).exists()
    assert temp_root.is_dir()


@pytest.mark.usefixtures("temp_root")
def test_a_symlink_inside_is_never_created_or_followed(tmp_path: Path) -> None:
    """``link -> blobs`` is remembered only; a later ``link/x`` is a plain directory."""
    members: list[tuple[str, Member]] = [
        ("link", (tarfile.SYMTYPE, "blobs")),
        ("link/x", b"data"),
        ("manifest.json", b"[]"),
    ]
    with pytest.raises(SavedArchiveError, match="lists 0 images"), _open(_tar(members)):
        pass
    outside = tmp_path / "target"
    outside.mkdir()
    members = [("evil", (tarfile.SYMTYPE, str(outside))), ("evil/x", b"data")]
    with pytest.raises(SavedArchiveError, match="points outside it"), _open(_tar(members)):
        pass
    assert list(outside.iterdir()) == []


LAYOUT_FILE = ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
ONE_LAYER_CONFIG = ("c.json", _config(AMD64, [b"a"]))
BROKEN: dict[str, tuple[bytes, str]] = {
    "not-a-tar": (b"this is not a tar archive" * 40, "cannot read the archive docker saved"),
    "truncated": (classic_archive()[:5000], "cannot read the archive docker saved"),
    "empty-layout": (_tar([("repositories", b"{}")]), "neither index.json nor manifest.json"),
    "bad-json": (_tar([("index.json", b"{"), LAYOUT_FILE]), "index.json is not valid JSON"),
    "no-oci-layout": (_tar([("index.json", b"{}")]), "lacks oci-layout"),
    "layout-version": (
        _tar([("index.json", b"{}"), ("oci-layout", b'{"imageLayoutVersion":"9"}')]),
        "unknown version",
    ),
    "no-image": (_tar([("index.json", _index()), LAYOUT_FILE]), "names no image"),
    "legacy-missing-layer": (
        _tar([("manifest.json", _json([{"Config": "c.json", "Layers": ["x/layer.tar"]}])),
              ONE_LAYER_CONFIG]),
        "names 'x/layer.tar', not in it",
    ),
    "legacy-count": (
        _tar([("manifest.json", _json([{"Config": "c.json", "Layers": []}])), ONE_LAYER_CONFIG]),
        "lists 0 layers, the image config 1",
    ),
    "legacy-two-images": (_tar([("manifest.json", b"[{}, {}]")]), "lists 2 images, not one"),
    "legacy-bad-json": (_tar([("manifest.json", b"[")]), "manifest.json is not valid JSON"),
    "legacy-bad-gzip": (
        _tar([("manifest.json", _json([{"Config": "c.json", "Layers": ["l.tar"]}])),
              ONE_LAYER_CONFIG, ("l.tar", b"\x1f\x8b not gzip after all")]),
        "a corrupt gzip layer",
    ),
    "index-not-object": (_tar([("index.json", b"[]"), LAYOUT_FILE]), "is not a JSON object"),
    "two-images": (
        _tar([("index.json", _index(*(_descriptor(OCI_MANIFEST, data) for data in (b"a", b"b")))),
              LAYOUT_FILE]),
        "holds 2 different images, not one",
    ),
    "index-blob-missing": (
        _tar([("index.json", _index(_descriptor(OCI_INDEX, b"{}"))), LAYOUT_FILE]),
        "the saved archive lacks sha256:",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN))
@pytest.mark.usefixtures("temp_root")
def test_unreadable_archives_are_one_clear_error(case: str) -> None:
    archive, said = BROKEN[case]
    with pytest.raises(SavedArchiveError, match=said) as raised, _open(archive):
        pass
    assert "\n" not in raised.value.one_line()


def test_a_tampered_nested_index_is_refused() -> None:
    archive, _ = containerd_archive()
    tampered = archive.replace(b'"architecture":"arm64"', b'"architecture":"arm65"')
    assert tampered != archive
    with pytest.raises(SavedArchiveError, match="does not match its digest"), _open(tampered):
        pass


# --- when docker cannot save the image -------------------------------------------------


def test_docker_not_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The real runner, with no docker anywhere on PATH."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(errors.ToolNotFoundError) as raised, saved_image(NAME):
        pass
    assert raised.value.one_line() == (
        f"docker-daemon:{NAME} needs the docker CLI, and docker was not found; "
        "install Docker, or name the base image by its registry reference"
    )
    assert raised.value.exit_code == 1


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client on this machine")
def test_engine_not_running_with_the_real_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/uvdock-daemon-test.sock")
    with pytest.raises(DaemonImageError) as raised, saved_image(NAME):
        pass
    line = raised.value.one_line()
    assert line.startswith(f"cannot read docker-daemon:{NAME}: the Docker Engine is not running")
    assert "uvdock doctor" in line


# What the docker client says (Docker 26.1 engine; 26.1 and 28.2 clients), and what we say.
NOT_RUNNING = (
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
    "Is the docker daemon running?"
)
NO_ACCESS = (
    "permission denied while trying to connect to the Docker daemon socket at "
    "unix:///var/run/docker.sock"
)
BAD_NAME = (
    "Error response from daemon: invalid reference format: repository name "
    "(library/Bad Name) must be lowercase"
)
ABSENT = f"docker-daemon:{NAME}: no such image in the local Docker Engine"
SAID: dict[str, tuple[str, type[errors.UvdockError], str, int]] = {
    "not-running": (NOT_RUNNING, DaemonImageError, "Docker Engine is not running or not", 1),
    "no-access": (NO_ACCESS, DaemonImageError, "not running or not reachable", 1),
    "classic-absent": (
        "Error response from daemon: reference does not exist",
        DaemonImageError,
        f"{ABSENT}; pull it first (`docker pull {NAME}`)",
        1,
    ),
    "containerd-absent": (f"Error response from daemon: No such image: {NAME}",
                          DaemonImageError, ABSENT, 1),
    "bad-name": (BAD_NAME, errors.ConfigError, "not an image name", 2),
    "other": (
        "Error response from daemon: disk on fire",
        errors.ProcessFailedError,
        f"docker image save {NAME} failed: Error response from daemon: disk on fire",
        1,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(SAID))
def test_docker_failures_are_one_clear_line(case: str) -> None:
    stderr, kind, said, code = SAID[case]
    runner = FakeRunner({("image", "save"): (1, "", stderr + "\n")})
    with pytest.raises(kind) as raised, saved_image(NAME, runner=runner, binary="docker"):
        pass
    line = raised.value.one_line()
    assert said in line
    assert "\n" not in line
    assert raised.value.exit_code == code
    assert runner.calls[0][:3] == ("image", "save", "-o")


def test_an_empty_name_is_a_usage_error() -> None:
    with pytest.raises(errors.ConfigError, match="no image named"), saved_image(" "):
        pass


def test_a_save_that_writes_nothing() -> None:
    with pytest.raises(SavedArchiveError, match="wrote no archive"), _open(None):
        pass


def test_the_docker_binary_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UVDOCK_DOCKER", "/opt/docker/bin/docker")
    saver = Saver(classic_archive())
    with saved_image(NAME, runner=saver):
        pass
    assert saver.calls[0][0] == "/opt/docker/bin/docker"
