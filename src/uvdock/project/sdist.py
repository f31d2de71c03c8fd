"""Reading an sdist's ``[build-system]``: what building a locked package from source needs.

Only used for the few packages that must be built from source (no wheel fits
the image's Python and platforms). The sdist ``uv.lock`` names is downloaded
(to memory, at most ``MAX_BYTES``), checked against the lock's sha256, and
only its top-level ``pyproject.toml`` is read; nothing in it is run. Answers
are kept in ``$XDG_CACHE_HOME/uvdock/sdists/<sha256>.json``, so each sdist is
read once per machine. Any failure (offline, a private index without
credentials, an sdist without ``pyproject.toml``) gives ``None``: the planner
then falls back to its table of known packages.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from uvdock.cache_dir import cache_root
from uvdock.project.model import BuildSystem, LockedPackage
from uvdock.project.readfile import MANIFEST_LIMIT, UnreadableFileError, read_bytes

MAX_BYTES = 64 * 1024 * 1024
_TIMEOUT = 30.0


def _cache_dir() -> Path:
    """``sdists`` beside the daemonless engine's cache (``$XDG_CACHE_HOME/uvdock``)."""
    return cache_root() / "sdists"


def _pyproject_member(data: bytes, filename: str) -> bytes | None:
    """The sdist's top-level ``pyproject.toml`` (``<name>-<version>/pyproject.toml``)."""
    if filename.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                if len(PurePosixPath(name).parts) == 2 and name.endswith("/pyproject.toml"):  # noqa: PLR2004
                    with archive.open(name) as stream:  # bounded: a zip bomb inflates
                        return stream.read(MANIFEST_LIMIT + 1)
        return None
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for member in archive:
            parts = PurePosixPath(member.name).parts
            if member.isfile() and len(parts) == 2 and parts[1] == "pyproject.toml":  # noqa: PLR2004
                handle = archive.extractfile(member)
                return handle.read(MANIFEST_LIMIT + 1) if handle is not None else None
    return None


def _download(url: str) -> bytes | None:
    import httpx  # noqa: PLC0415  (only the rare plan with a from-source build needs it)

    chunks: list[bytes] = []
    size = 0
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=_TIMEOUT) as response:
            if response.status_code != 200:  # noqa: PLR2004
                return None
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    return None
                chunks.append(chunk)
    except httpx.HTTPError:
        return None
    return b"".join(chunks)


def _read(package: LockedPackage, lock_dir: Path) -> dict[str, Any] | None:
    url = package.sdist_url or ""
    if url.startswith(("https://", "http://")):
        data = _download(url)
    elif url and "://" not in url:
        try:  # a path the lock names: it could be a FIFO or /dev/zero
            data = read_bytes(lock_dir / url, limit=MAX_BYTES)
        except UnreadableFileError:
            return None
    else:
        return None
    if data is None:
        return None
    algorithm, _, expected = (package.sdist_hash or "").partition(":")
    if algorithm != "sha256" or hashlib.sha256(data).hexdigest() != expected:
        return None  # not the file the lock names: read nothing from it
    try:
        text = _pyproject_member(data, url)
        parsed = tomllib.loads(text.decode()) if text else {}
    except (tarfile.TarError, zipfile.BadZipFile, tomllib.TOMLDecodeError, UnicodeDecodeError,
            OSError, EOFError):  # fmt: skip
        return None
    system = parsed.get("build-system")
    if not isinstance(system, dict):
        # PEP 517's fallback: an sdist without [build-system] builds with setuptools.
        return {"requires": ["setuptools>=40.8.0"], "backend": None}
    requires = system.get("requires", [])
    backend = system.get("build-backend")
    return {
        "requires": [str(r) for r in requires] if isinstance(requires, list) else [],
        "backend": str(backend) if isinstance(backend, str) else None,
    }


def sdist_reader(lock_dir: Path) -> Callable[[LockedPackage], BuildSystem | None]:
    """A reader for ``toolchains.toolchain_of``: the sdist's build system, cached, or None."""

    def read(package: LockedPackage) -> BuildSystem | None:
        algorithm, _, digest = (package.sdist_hash or "").partition(":")
        if algorithm != "sha256" or len(digest) != 64 or not _is_hex(digest):  # noqa: PLR2004
            return None
        cached = _cache_dir() / f"{digest}.json"
        found: dict[str, Any] | None = None
        try:
            found = json.loads(cached.read_text())
        except (OSError, ValueError):
            found = _read(package, lock_dir)
            if found is not None:
                _remember(cached, found)
        if not isinstance(found, dict):
            return None
        name = (package.sdist_url or "").rsplit("/", 1)[-1]
        return BuildSystem(
            requires=tuple(str(r) for r in found.get("requires", ())),
            backend=found.get("backend"),
            source=f"[build-system] of the sdist {name}",
        )

    return read


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _remember(path: Path, found: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(found))
        temporary.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs a download next time
