"""``.dockerignore`` as Docker reads it (``moby/patternmatcher``'s ``patternmatcher.go``).

The linter (what a Dockerfile's context sends), the renderer (which files the
generated ``.dockerignore`` must re-include) and the daemonless engine (what
it copies into the image) all ask the same question, so they share this one
matcher. It is written here because no library implements Docker's semantics:
unlike ``.gitignore`` (what ``pathspec`` implements), a pattern without a slash
matches at the context root only, ``**`` matches any number of directories, a
pattern that matches a directory excludes everything under it, and the last
matching pattern (``!`` re-includes) wins.
"""

from __future__ import annotations

import dataclasses
import re


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
