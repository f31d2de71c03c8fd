"""The one way detection reads a project's files: regular files only, and bounded.

A project directory is input uvdock does not control. ``Path.read_text`` on a
FIFO blocks forever, on a link to ``/dev/zero`` it fills the memory, and a
``pyproject.toml`` that is a directory raises ``IsADirectoryError`` as a
traceback. Every read here follows links, then checks that what it opened is a
regular file (with ``fstat`` on the opened descriptor, so a file swapped for a
FIFO after the check still cannot block: it is opened with ``O_NONBLOCK``), and
reads at most ``limit`` bytes whatever ``st_size`` claims (``/proc`` files
claim 0).

What cannot be read raises :class:`UnreadableFileError`, a ``ConfigError``
that names the file and why; detectors that can do without a file (a source
file scanned for an app) catch it and say which file they skipped.

(``uvdock.lint.rules.base.read_small`` does the same job for lint's rules and
could share this module.)
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from uvdock.errors import ConfigError

MIB = 1024 * 1024
# pyproject.toml and uv.lock: an ML project's lock runs to a few megabytes.
MANIFEST_LIMIT = 10 * MIB
# .python-version, requirements*.txt, Procfile, server configs, Python sources.
SMALL_LIMIT = 1 * MIB

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class UnreadableFileError(ConfigError):
    """A project file that is not a regular file, is too big, or is not UTF-8 text."""

    def __init__(self, path: Path, reason: str, *, hint: str) -> None:
        super().__init__(reason, path=path, hint=hint)
        self.reason = reason


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _not_regular(path: Path, mode: int) -> UnreadableFileError:
    return UnreadableFileError(
        path,
        f"is {_kind(mode)}, not a regular file",
        hint="uvdock reads only regular files: replace it with a file or remove it",
    )


def _too_big(path: Path, limit: int) -> UnreadableFileError:
    return UnreadableFileError(
        path,
        f"is larger than {limit // MIB} MB",
        hint="uvdock does not read files that big: check it is the file you meant",
    )


def read_bytes(path: Path, *, limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (links followed), at most ``limit`` of them."""
    try:
        before = path.stat()
    except OSError as err:
        raise _os_error(path, err) from err
    if not stat.S_ISREG(before.st_mode):
        raise _not_regular(path, before.st_mode)
    if before.st_size > limit:
        raise _too_big(path, limit)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as err:
        raise _os_error(path, err) from err
    with os.fdopen(descriptor, "rb") as stream:
        opened = os.fstat(stream.fileno())
        if not stat.S_ISREG(opened.st_mode):  # swapped for something else since the check
            raise _not_regular(path, opened.st_mode)
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise _too_big(path, limit)
    return data


def read_text(path: Path, *, limit: int) -> str:
    """``read_bytes`` decoded as UTF-8."""
    data = read_bytes(path, limit=limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UnreadableFileError(
            path, "is not UTF-8 text", hint="save it as UTF-8 (or remove it)"
        ) from err


def exists(path: Path) -> bool:
    """Whether anything is at ``path`` (a dangling link counts: reading it is the error)."""
    return os.path.lexists(path)


def _os_error(path: Path, err: OSError) -> UnreadableFileError:
    if err.errno == errno.ENOENT:
        return UnreadableFileError(
            path, "does not exist (or is a broken link)", hint="create it or remove the link"
        )
    if err.errno in {errno.EACCES, errno.EPERM}:
        return UnreadableFileError(
            path, "cannot be read (permission denied)", hint="check the file's permissions"
        )
    return UnreadableFileError(
        path, f"cannot be read ({err.strerror or err})", hint="check the file and run again"
    )
