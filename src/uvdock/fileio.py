"""Writing files without ever half-writing or silently overwriting them.

All new contents go to temporary files beside their targets first; only when
every one of them is written are they moved into place (``os.replace`` is
atomic on POSIX), so a failure part-way leaves every existing file as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from uvdock._diff import unified_diff
from uvdock.errors import UvdockError

Action = Literal["create", "overwrite", "unchanged"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class FileChange:
    path: Path
    name: str
    action: Action
    content: str
    previous: str | None

    def diff(self) -> str:
        return unified_diff(self.previous, self.content, self.name)


def plan_changes(root: Path, files: Sequence[tuple[str, str]]) -> list[FileChange]:
    changes = []
    for name, content in files:
        path = root / name
        previous: str | None = None
        if path.exists():
            try:
                previous = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                previous = ""
        if previous is None:
            action: Action = "create"
        elif previous == content:
            action = "unchanged"
        else:
            action = "overwrite"
        changes.append(
            FileChange(path=path, name=name, action=action, content=content, previous=previous)
        )
    return changes


def write_all(changes: Sequence[FileChange]) -> None:
    """Write every changed file, all or nothing."""
    staged: list[tuple[Path, FileChange]] = []
    try:
        for change in changes:
            if change.action == "unchanged":
                continue
            handle, temp_name = tempfile.mkstemp(
                prefix=f".{change.path.name}.", suffix=".uvdock-tmp", dir=change.path.parent
            )
            temp = Path(temp_name)
            staged.append((temp, change))
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(change.content)
                stream.flush()
                os.fsync(stream.fileno())
            mode = 0o644
            if change.path.exists():
                mode = stat.S_IMODE(change.path.stat().st_mode)
            temp.chmod(mode)
    except OSError as err:
        for temp, _ in staged:
            with contextlib.suppress(OSError):
                temp.unlink()
        raise UvdockError(
            f"cannot write in {err.filename or changes[0].path.parent} ({err.strerror}); "
            "no file was changed",
            hint="check the directory's permissions and free space",
        ) from err
    for temp, change in staged:
        temp.replace(change.path)
