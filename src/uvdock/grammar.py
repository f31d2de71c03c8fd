"""The grammar of every value that may reach a generated file, and its quoting there.

Values come from flags, ``UVDOCK_*`` variables, ``[tool.uvdock]`` and the
project's own files, and end up in a Dockerfile, a shell command in a ``RUN``,
a Python one-liner, YAML and ``.dockerignore`` patterns. Each has a grammar
(an image reference, a Debian package name, a PEP 508 name, a relative path, an
URL path); a value outside it is refused where it enters, with the file and
line it came from. The renderers quote what they write again with the
functions below, so a value that slipped past an entry check still cannot add
an instruction, a command, a key or a pattern: it is refused, never written.

Written by hand because each grammar is one regular expression taken from its
specification (distribution's reference grammar, Debian policy 5.6.1, PEP 508,
RFC 3986), and the quoting rules are the target languages' own.
"""

from __future__ import annotations

import json
import re
import shlex

from uvdock import imageref
from uvdock.errors import ConfigError

# Any character that ends a line or is invisible in an editor: none belongs in
# a value uvdock writes (a newline starts a new instruction, key or pattern).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_TAB = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")

# Image references: distribution/reference's grammar lives in uvdock.imageref, with the
# one parser of image references.
IMAGE_REFERENCE = imageref.IMAGE_REFERENCE
# What --base-image accepts: an image reference, or (daemonless engine only) skopeo's
# oci:DIR[:TAG] layout and docker-daemon:IMAGE transports.
BASE_IMAGE = re.compile(
    rf"{IMAGE_REFERENCE.pattern}|oci:.+|docker-daemon:{IMAGE_REFERENCE.pattern}"
)
# A registry (and optional path) that image names are put under: no tag, no digest.
IMAGE_PREFIX = re.compile(rf"{imageref.DOMAIN}(?:/{imageref.PATH_COMPONENT})*/?")
IMAGE_TAG = re.compile(imageref.TAG)
# Debian policy 5.6.1 (package names), with an optional :arch and =version.
DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?(?:=[A-Za-z0-9.+~:-]+)?")
# PEP 508 names (projects, extras; PEP 735 groups use the same).
PEP508_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
PYTHON_VERSION = re.compile(r"[0-9]{1,2}\.[0-9]{1,3}(?:\.[0-9]{1,3})?")
# RFC 3986 path (and query) characters: what a health-check URL path may hold.
URL_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*")
# Paths the renderers write into COPY, bind mounts and .dockerignore without any
# quoting: what nearly every project's paths are.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._+@-][A-Za-z0-9._+@/-]*")
# Characters .dockerignore patterns and COPY sources treat as wildcards.
_WILDCARDS = re.compile(r"[*?\[\]\\]")


def first_control(value: str, *, tab: bool = False) -> str | None:
    """The first control character in ``value``, or None; ``tab`` lets tabs through
    (white space in a project's own text, never in a value uvdock writes)."""
    found = (_CONTROL_BUT_TAB if tab else _CONTROL).search(value)
    return None if found is None else found.group()


def control_character(value: str) -> str | None:
    """The first control character in ``value`` (as Python spells it), or None."""
    found = first_control(value)
    return None if found is None else repr(found)[1:-1]


def grammar_error(value: str, grammar: re.Pattern[str], what: str) -> str | None:
    """Why ``value`` is not a ``what`` (one phrase), or None if it is one."""
    bad = control_character(value)
    if bad is not None:
        return f"{what} {json.dumps(value)} contains the control character {bad}"
    if not grammar.fullmatch(value):
        return f"{json.dumps(value)} is not a valid {what}"
    return None


def relative_path_error(value: str, what: str) -> str | None:
    """Why ``value`` is not a relative path inside the project, or None."""
    bad = control_character(value)
    if bad is not None:
        return f"{what} {json.dumps(value)} contains the control character {bad}"
    if not value or value.startswith("/"):
        return f"{what} {json.dumps(value)} is not a relative path"
    if ".." in value.split("/"):
        return f"{what} {json.dumps(value)} leads outside the project"
    return None


class UnwritableValueError(ConfigError):
    """A value that cannot be written into a generated file (the renderers' last guard)."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            hint="change the value where it is set (a flag, UVDOCK_*, [tool.uvdock] or the "
            "project's files); uvdock writes no file with it",
        )


def _checked(value: str, what: str) -> str:
    bad = control_character(value)
    if bad is not None:
        raise UnwritableValueError(
            f"{what} {json.dumps(value)} contains the control character {bad}"
        )
    return value


def shell_word(value: str, what: str) -> str:
    """``value`` as one word of a ``RUN`` command (shell-quoted, one line)."""
    return shlex.quote(_checked(value, what))


def shell_line(value: str, what: str) -> str:
    """A value for a one-line comment or a ``# Build:`` line: nothing may end the line."""
    return _checked(value, what)


def dockerfile_word(value: str, what: str) -> str:
    """A value in an instruction Docker expands variables in (FROM, COPY, WORKDIR, ...).

    ``$`` is escaped so it stays literal; whitespace would split the instruction's
    arguments, so such a value is refused (paths with spaces use JSON forms).
    """
    _checked(value, what)
    if any(c.isspace() for c in value) or '"' in value:
        raise UnwritableValueError(f"{what} {json.dumps(value)} contains a space or a quote")
    return value.replace("\\", "\\\\").replace("$", "\\$")


def image_reference(value: str, what: str) -> str:
    """An image reference for ``FROM`` (distribution's grammar), or refused."""
    if value.startswith(("oci:", "docker-daemon:")):
        raise UnwritableValueError(
            f"{what} {json.dumps(value)} names an image outside any registry, which only "
            "`uvdock build --engine oci` can start from; a Dockerfile needs a registry image"
        )
    error = grammar_error(value, IMAGE_REFERENCE, f"image reference ({what})")
    if error is not None:
        raise UnwritableValueError(error)
    return value


def inside_path(value: str, what: str) -> str:
    """A relative path inside the project (``.`` included), or refused."""
    error = None if value == "." else relative_path_error(value, what)
    if error is not None:
        raise UnwritableValueError(error)
    return value


def plain_path(value: str, what: str) -> str:
    """A context path written bare (COPY, ``--mount=source=``, .dockerignore), or refused.

    Such paths are globbed (COPY, .dockerignore), split at commas and quotes
    (``--mount``), and expanded (``$``); the plain ones need no quoting at all.
    """
    error = relative_path_error(value, what)
    if error is not None:
        raise UnwritableValueError(error)
    if _WILDCARDS.search(value) or not _PLAIN_PATH.fullmatch(value):
        raise UnwritableValueError(
            f"{what} {json.dumps(value)} has characters a Dockerfile or .dockerignore would "
            "read as wildcards, separators or variables"
        )
    return value


def yaml_string(value: str) -> str:
    """A YAML double-quoted scalar that compose reads literally (``$`` is interpolated)."""
    return json.dumps(value.replace("$", "$$"))


def dockerfile_quoted(value: str) -> str:
    """A double-quoted Dockerfile word (LABEL, ENV values): one line, ``$`` kept literal.

    BuildKit's lexer unescapes only ``\\"``, ``\\$`` and ``\\\\`` inside double quotes;
    JSON's other escapes (a newline as ``\\n``) stay as they are, on one line.
    """
    text = json.dumps(value, ensure_ascii=False)
    # JSON leaves DEL, C1 controls and U+2028/9 raw; some readers split lines at them.
    text = _CONTROL.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
    return text.replace("$", "\\$")


ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
