"""Find the base image's Python: its version, interpreter path and C library.

Read from the image itself, never assumed: the config's ``Env`` (official images
set ``PYTHON_VERSION``; ``PATH`` gives the search order), then the files of its
layers: which ``pythonX.Y`` interpreters exist in the ``PATH`` directories, and
the C library (Debian's ``/var/lib/dpkg/status`` names the libc6 version, Alpine
ships ``ld-musl-*``). Layers are only read (names, and the one small dpkg file
in memory), never extracted, so a hostile layer cannot write anything; its
whiteouts (``.wh.``) are applied in order, as a runtime would.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from uvdock.errors import UvdockError
from uvdock.oci.layerread import image_files
from uvdock.oci.pyenv import TargetPython
from uvdock.oci.tarlayer import LayerError

INTERPRETER = re.compile(r"^python(3\.\d+)$")
DPKG_STATUS = "var/lib/dpkg/status"


class NoPythonError(UvdockError):
    """The base image has no Python the app could run on."""


def scan_layers(layers: Sequence[Path]) -> tuple[dict[str, str], bytes | None]:
    """(path -> "file"/"link:<target>", dpkg status bytes) of the base's final filesystem.

    One streaming pass per layer (decompressing a base layer is the slow part).
    Every member goes through the layer reader's checks: ``..`` paths, device
    files and hard links out of the layer are refused with an error naming it.
    """
    contents: dict[str, bytes] = {}
    try:
        merged = image_files(layers, read={DPKG_STATUS}, contents=contents)
    except (LayerError, OSError, EOFError, zlib.error) as err:
        raise UvdockError(
            f"cannot read the base image: {err}",
            hint="use another base image; delete ~/.cache/uvdock/oci if a download was cut",
        ) from err
    files = {
        path: (f"link:{m.linkname}" if m.kind == "symlink" else "file")
        for path, m in merged.items()
        if m.kind in ("file", "symlink", "hardlink")
    }
    return files, contents.get(DPKG_STATUS)


def _glibc_from_dpkg(status: bytes) -> tuple[int, int] | None:
    text = status.decode("utf-8", errors="replace")
    for block in text.split("\n\n"):
        if re.search(r"^Package: libc6$", block, re.MULTILINE):
            match = re.search(r"^Version: (\d+)\.(\d+)", block, re.MULTILINE)
            if match:
                return int(match.group(1)), int(match.group(2))
    return None


def _env(config: Mapping[str, Any]) -> dict[str, str]:
    pairs = (config.get("config") or {}).get("Env") or []
    return dict(item.split("=", 1) for item in pairs if "=" in item)


def detect_python(
    config: Mapping[str, Any], files: Mapping[str, str], status: bytes | None
) -> TargetPython:
    """The Python of a base image, from its config and its files (see :func:`scan_layers`)."""
    env = _env(config)
    path_dirs = [d for d in env.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(":") if d]
    wanted = env.get("PYTHON_VERSION", "")
    wanted_xy = ".".join(wanted.split(".")[:2]) if wanted else None
    found: list[tuple[str, str]] = []  # (X.Y, path)
    for directory in dict.fromkeys([*path_dirs, "/usr/local/bin", "/usr/bin"]):
        prefix = directory.strip("/")
        for name in files:
            parent, _, base = name.rpartition("/")
            match = INTERPRETER.match(base)
            if match and parent == prefix:
                found.append((match.group(1), "/" + name))
    if wanted_xy:
        found = [f for f in found if f[0] == wanted_xy] or found
    if not found:
        raise NoPythonError(
            "the base image has no Python interpreter (no python3.X in its PATH directories)",
            hint="use a Python base image (python:3.13-slim) or --engine docker",
        )
    version, executable = found[0]
    musl = any(re.fullmatch(r"(?:usr/)?lib/ld-musl-[\w-]+\.so\.1", name) for name in files)
    glibc = None if musl or status is None else _glibc_from_dpkg(status)
    if glibc is None and not musl:
        for name in files:
            match = re.search(r"(?:^|/)libc-(\d+)\.(\d+)\.so$", name)
            if match:
                glibc = (int(match.group(1)), int(match.group(2)))
                break
    full = wanted if wanted.startswith(version) else None
    return TargetPython(
        version=version, full_version=full, executable=executable, glibc=glibc, musl=musl
    )


def describe(target: TargetPython) -> str:
    libc = (
        "musl"
        if target.musl
        else (f"glibc {target.glibc[0]}.{target.glibc[1]}" if target.glibc else "glibc ?")
    )
    return f"Python {target.full_version or target.version} at {target.executable}, {libc}"


def parse_platforms(values: Iterable[str]) -> list[tuple[str, str]]:
    """``linux/amd64,linux/arm64`` -> [("linux", "amd64"), ("linux", "arm64")]."""
    out = []
    for value in values:
        for item in value.split(","):
            os_name, _, arch = item.strip().partition("/")
            out.append((os_name, arch.split("/")[0]))
    return out
