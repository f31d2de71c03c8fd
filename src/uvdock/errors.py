"""The whole exception tree of uvdock, and the exit code of each kind.

Every error carries a one-line message that says what is wrong, where
(``file:line`` when there is one) and what to do. Only ``uvdock.cli.main``
catches these; library code raises them and never prints or exits.

Exit codes (documented in the README):

- 0: success
- 1: a failure uvdock could not avoid (a build failed, a tool crashed, I/O failed)
- 2: a usage or configuration error the user can fix (bad flag, broken
  ``pyproject.toml``, stale ``uv.lock``, file already exists, ...)
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar


class UvdockError(Exception):
    """Base class: a failure with a message meant for the user."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and its hint joined on one line, as the CLI prints it."""
        if self.hint:
            return f"{self.message}; {self.hint}"
        return self.message


class UsageError(UvdockError):
    """Bad command-line usage or option value."""

    exit_code: ClassVar[int] = 2


class ConfigError(UvdockError):
    """A configuration file or value is invalid."""

    exit_code: ClassVar[int] = 2

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}", hint=hint)
        self.path = path
        self.line = line


class ProjectError(ConfigError):
    """The project cannot be planned as it stands (no entrypoint, stale lock, ...)."""


class FileExistsConflictError(UsageError):
    """``init`` would overwrite a file and ``--force`` was not given."""


class ToolNotFoundError(UvdockError):
    """An external tool (docker, buildx, ...) is missing."""


class ProcessFailedError(UvdockError):
    """An external process exited non-zero."""
