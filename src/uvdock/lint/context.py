"""The build context as the lint rules see it: ``.dockerignore`` and the project files.

Rules read the context only when it is there, and stay quiet about what they
cannot know (``BuildContext.root`` is None when linting a Dockerfile alone).

The ``.dockerignore`` matcher is written here because no library implements
Docker's semantics (``moby/patternmatcher``): unlike ``.gitignore`` (what
``pathspec`` implements), a pattern without a slash matches at the context
root only, ``**`` matches any number of directories, a pattern that matches a
directory excludes everything under it, and the last matching pattern (``!``
re-includes) wins.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True, kw_only=True)
class IgnorePattern:
    pattern: str  # cleaned, without "!" and leading "/"
    exclude: bool  # False for a "!" exception
    line: int
    regex: re.Pattern[str]


def _translate(pattern: str) -> re.Pattern[str]:
    """Docker's patternmatcher: ``**`` any depth, ``*``/``?`` within one path element."""
    out = ["^"]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # "**/" matches zero or more directories
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    out.append("$")
    return re.compile("".join(out))


def _clean(pattern: str) -> str:
    parts: list[str] = []
    for part in pattern.strip().strip("/").split("/"):
        if part in ("", "."):
            continue
        if part == ".." and parts:
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def parse_dockerignore(text: str) -> tuple[IgnorePattern, ...]:
    patterns = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        cleaned = _clean(line.removeprefix("!"))
        if not cleaned:
            continue
        patterns.append(
            IgnorePattern(pattern=cleaned, exclude=exclude, line=number, regex=_translate(cleaned))
        )
    return tuple(patterns)


def is_ignored(patterns: tuple[IgnorePattern, ...], path: str) -> IgnorePattern | None:
    """The pattern that excludes ``path`` (relative, POSIX), or None when it is sent."""
    path = _clean(path)
    parents = path.split("/")
    candidates = ["/".join(parents[: i + 1]) for i in range(len(parents))]
    verdict: IgnorePattern | None = None
    for pattern in patterns:
        if any(pattern.regex.match(candidate) for candidate in candidates):
            verdict = pattern if pattern.exclude else None
    return verdict


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
        value = (self.pyproject or {}).get("project", {}).get("requires-python")
        return value if isinstance(value, str) else None

    @property
    def referenced_files(self) -> tuple[str, ...]:
        """Files ``pyproject.toml`` names (readme, license), which a package build reads."""
        project = (self.pyproject or {}).get("project", {})
        found: list[str] = []
        readme = project.get("readme")
        if isinstance(readme, str):
            found.append(readme)
        elif isinstance(readme, dict) and isinstance(readme.get("file"), str):
            found.append(readme["file"])
        license_value = project.get("license")
        if isinstance(license_value, dict) and isinstance(license_value.get("file"), str):
            found.append(license_value["file"])
        return tuple(found)

    @property
    def packaged(self) -> bool:
        data = self.pyproject or {}
        package = data.get("tool", {}).get("uv", {}).get("package")
        if isinstance(package, bool):
            return package
        return bool(data.get("build-system"))


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
