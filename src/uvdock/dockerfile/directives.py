"""Parser directives (``# syntax=``, ``escape``, ``check``), as ``parser/directives.go`` reads them.

Keys are case-insensitive; the parser only looks for directives before any
other line and takes each at most once.
"""

from __future__ import annotations

import re

from uvdock.dockerfile.gospace import GO_SPACE

__all__ = ["parse_directive"]

_RE2_SPACE = "\t\n\f\r "  # Go regexp `\s` (directive regular expression)
_DIRECTIVE_KEY_RE = re.compile("[a-zA-Z][a-zA-Z0-9]*")
_DIRECTIVES = frozenset({"syntax", "escape", "check"})


def parse_directive(line: str) -> tuple[str, str] | None:
    """``(name, value)`` if ``line`` (left-trimmed) is a known parser directive."""
    if not line.startswith("#"):
        return None
    body = line[1:].lstrip(GO_SPACE)
    key = _DIRECTIVE_KEY_RE.match(body)
    if key is None:
        return None
    rest = body[key.end() :].lstrip(_RE2_SPACE)
    if not rest.startswith("="):
        return None
    value = rest[1:].strip(_RE2_SPACE)
    name = key.group().lower()
    if not value or name not in _DIRECTIVES:
        return None
    return name, value
