"""The target-platform venv: uv's platform tags, venv layout, shebangs, and the base's Python."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from uvdock.errors import UvdockError
from uvdock.oci.basepython import NoPythonError, detect_python, scan_layers
from uvdock.oci.pyenv import TargetPython, make_venv, python_platform, rewrite_shebang

DEBIAN = TargetPython(
    version="3.13", full_version="3.13.5", executable="/usr/local/bin/python3.13", glibc=(2, 41)
)


@pytest.mark.parametrize(
    ("arch", "target", "expected"),
    [
        ("amd64", DEBIAN, "x86_64-manylinux_2_40"),  # glibc 2.41: the highest uv knows
        ("arm64", DEBIAN, "aarch64-manylinux_2_40"),
        (
            "arm64",
            TargetPython(
                version="3.11", full_version=None, executable="/usr/bin/python3.11", glibc=(2, 36)
            ),
            "aarch64-manylinux_2_36",
        ),
        (
            "amd64",
            TargetPython(
                version="3.12", full_version=None, executable="/usr/bin/python3.12", glibc=(2, 30)
            ),
            "x86_64-manylinux_2_28",
        ),
        (
            "amd64",
            TargetPython(
                version="3.12", full_version=None, executable="/usr/bin/python3.12", glibc=None
            ),
            "x86_64-manylinux_2_17",
        ),
        (
            "arm64",
            TargetPython(
                version="3.12",
                full_version=None,
                executable="/usr/bin/python3.12",
                glibc=None,
                musl=True,
            ),
            "aarch64-unknown-linux-musl",
        ),
    ],
)
def test_python_platform(arch: str, target: TargetPython, expected: str) -> None:
    assert python_platform(arch, target) == expected


def test_unsupported_architecture_is_a_clear_error() -> None:
    with pytest.raises(UvdockError, match="cannot build for linux/s390x"):
        python_platform("s390x", DEBIAN)


def test_shebangs_point_at_the_venv(tmp_path: Path) -> None:
    plain = tmp_path / "uvicorn"
    plain.write_bytes(b"#!/root/.pyenv/versions/3.11.7/bin/python\nimport sys\n")
    rewrite_shebang(plain, "/app/.venv/bin/python")
    assert plain.read_bytes() == b"#!/app/.venv/bin/python\nimport sys\n"
    assert plain.stat().st_mode & 0o111
    trampoline = tmp_path / "long"
    trampoline.write_bytes(b"#!/bin/sh\n'''exec' /very/long/host/python \"$0\" \"$@\"\n' '''\n")
    rewrite_shebang(trampoline, "/app/.venv/bin/python")
    assert b"'''exec' /app/.venv/bin/python \"$0\"" in trampoline.read_bytes()


def test_make_venv_layout(tmp_path: Path) -> None:
    venv = tmp_path / "app" / ".venv"
    site = venv / "lib" / "python3.13" / "site-packages"
    (site / "bin").mkdir(parents=True)
    (site / "bin" / "uvicorn").write_text("#!/usr/bin/python3\nprint()\n")
    make_venv(venv, venv_path="/app/.venv", target=DEBIAN, site_packages=site)
    assert (venv / "bin" / "python").readlink() == Path("/usr/local/bin/python3.13")
    assert (venv / "bin" / "python3").readlink() == Path("python")
    assert (venv / "bin" / "uvicorn").read_text().startswith("#!/app/.venv/bin/python\n")
    assert not (site / "bin").exists()
    cfg = (venv / "pyvenv.cfg").read_text()
    assert "home = /usr/local/bin\n" in cfg
    assert "version = 3.13.5\n" in cfg


def _layer(path: Path, members: list[tuple[str, bytes | None, str | None]]) -> Path:
    """A gzip layer: (name, file content or None, symlink target or None)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data, link in members:
            info = tarfile.TarInfo(name)
            if link is not None:
                info.type = tarfile.SYMTYPE
                info.linkname = link
                archive.addfile(info)
            else:
                info.size = len(data or b"")
                archive.addfile(info, io.BytesIO(data or b""))
    return path


DPKG = b"Package: zlib1g\nVersion: 1:1.3\n\nPackage: libc6\nStatus: install ok\nVersion: 2.41-12\n"


def test_detect_python_from_config_and_files(tmp_path: Path) -> None:
    first = _layer(
        tmp_path / "1.tar.gz",
        [
            ("usr/bin/python3.11", b"elf", None),
            ("./usr/local/bin/python3.13", b"elf", None),
            ("usr/local/bin/python3", None, "python3.13"),
            ("var/lib/dpkg/status", DPKG, None),
        ],
    )
    second = _layer(tmp_path / "2.tar.gz", [("usr/bin/.wh.python3.11", b"", None)])
    files, status = scan_layers([first, second])
    assert "usr/bin/python3.11" not in files  # removed by the whiteout
    config = {"config": {"Env": ["PATH=/usr/local/bin:/usr/bin", "PYTHON_VERSION=3.13.5"]}}
    target = detect_python(config, files, status)
    assert target == DEBIAN


def test_debian_python_without_env(tmp_path: Path) -> None:
    layer = _layer(tmp_path / "1.tar.gz", [("usr/bin/python3.13", b"elf", None)])
    files, status = scan_layers([layer])
    target = detect_python({"config": {}}, files, status)
    assert (target.executable, target.version, target.glibc) == (
        "/usr/bin/python3.13",
        "3.13",
        None,
    )


def test_musl_base(tmp_path: Path) -> None:
    layer = _layer(
        tmp_path / "1.tar.gz",
        [
            ("lib/ld-musl-aarch64.so.1", b"elf", None),
            ("usr/local/bin/python3.12", b"elf", None),
        ],
    )
    files, status = scan_layers([layer])
    assert detect_python({"config": {}}, files, status).musl


def test_base_without_python(tmp_path: Path) -> None:
    layer = _layer(tmp_path / "1.tar.gz", [("bin/sh", b"elf", None)])
    files, status = scan_layers([layer])
    with pytest.raises(NoPythonError, match="no Python interpreter"):
        detect_python({"config": {}}, files, status)


@pytest.mark.parametrize(
    ("name", "why"),
    [("../../escaped", "'..' path component"), ("usr/../../escaped", "'..' path component")],
)
def test_hostile_base_layers_are_refused(tmp_path: Path, name: str, why: str) -> None:
    layer = _layer(tmp_path / "1.tar.gz", [(name, b"x", None)])
    with pytest.raises(UvdockError, match=why):
        scan_layers([layer])
    assert not (tmp_path / "escaped").exists()


def test_device_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dev.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("dev/sda")
        info.type = tarfile.BLKTYPE
        archive.addfile(info)
    with pytest.raises(UvdockError, match="device file"):
        scan_layers([path])


def test_corrupt_layer_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00not gzip at all")
    with pytest.raises(UvdockError, match="cannot read the base image"):
        scan_layers([bad])
