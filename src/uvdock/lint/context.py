"""The build context as the lint rules see it: ``.dockerignore`` and the project files.

Rules read the context only when it is there, and stay quiet about what they
cannot know (``BuildContext.root`` is None when linting a Dockerfile alone).

The ``.dockerignore`` matcher is :mod:`uvdock.dockerfile.ignore`, shared with
the renderer and the daemonless engine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uvdock.dockerfile.ignore import IgnorePattern, is_ignored, parse_dockerignore
from uvdock.project.facts import is_packaged, referenced_files, requires_python

__all__ = ["BuildContext", "IgnorePattern", "ignore_file", "is_ignored", "load_context",
           "parse_dockerignore"]  # fmt: skip


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuildContext:
    """What the rules may know about the directory the Dockerfile is built in."""

    root: Path | None
    dockerignore_path: Path | None = None
    dockerignore: tuple[IgnorePattern, ...] | None = None  # None: no .dockerignore file
    pyproject: Mapping[str, Any] | None = None
    has_uv_lock: bool = False
    has_requirements: bool = False
    python_version_pin: str | None = None  # first line of .python-version

    def ignored(self, path: str) -> IgnorePattern | None:
        return is_ignored(self.dockerignore or (), path)

    @property
    def requires_python(self) -> str | None:
        return requires_python(self.pyproject)

    @property
    def referenced_files(self) -> tuple[str, ...]:
        """Files ``pyproject.toml`` names (readme, licence), which a package build reads."""
        return referenced_files(self.pyproject)

    @property
    def packaged(self) -> bool:
        return is_packaged(self.pyproject or {})


def _read_toml(path: Path) -> Mapping[str, Any] | None:
    import tomllib  # noqa: PLC0415 - ~4 ms at start-up, and most runs read no TOML

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None  # another command reports a broken pyproject.toml; lint stays quiet


def ignore_file(root: Path, dockerfile: Path | None = None) -> Path:
    """The ignore file BuildKit applies: ``<Dockerfile>.dockerignore`` beside the
    Dockerfile when there is one, else the context's ``.dockerignore``."""
    if dockerfile is not None:
        own = dockerfile.with_name(dockerfile.name + ".dockerignore")
        if own.is_file():
            return own
    return root / ".dockerignore"


def load_context(root: Path | None, *, dockerfile: Path | None = None) -> BuildContext:
    """Read the context directory (callers that lint many files keep the result)."""
    if root is None or not root.is_dir():
        return BuildContext(root=None)
    ignore_path = ignore_file(root, dockerfile)
    patterns = None
    if ignore_path.is_file():
        try:
            patterns = parse_dockerignore(ignore_path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            patterns = None
    pin = None
    pin_path = root / ".python-version"
    if pin_path.is_file():
        try:
            lines = pin_path.read_text(encoding="utf-8").split()
            pin = lines[0] if lines else None
        except (OSError, UnicodeDecodeError):
            pin = None
    pyproject_path = root / "pyproject.toml"
    return BuildContext(
        root=root,
        dockerignore_path=ignore_path if patterns is not None else None,
        dockerignore=patterns,
        pyproject=_read_toml(pyproject_path) if pyproject_path.is_file() else None,
        has_uv_lock=(root / "uv.lock").is_file(),
        has_requirements=(root / "requirements.txt").is_file(),
        python_version_pin=pin,
    )
