"""Writing files without ever half-writing or silently overwriting them.

All new contents go to temporary files beside their targets first; only when
every one of them is written are they moved into place (``os.replace`` is
atomic on POSIX), so a failure part-way leaves every existing file as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Literal

from uvdock._diff import unified_diff
from uvdock.errors import UsageError, UvdockError
from uvdock.grammar import control_character

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
    """What writing ``files`` (names relative to ``root``) would change, reading nothing unsafe.

    Every target must lie inside ``root`` and be a regular file or absent: a
    symbolic link is neither read nor written through (``Dockerfile ->
    /etc/shadow`` would print or replace the file it points at), and a directory,
    FIFO or device is refused before anything is written.
    """
    changes = []
    seen: set[Path] = set()
    for name, content in files:
        path = target_inside(root, name)
        if path in seen:
            raise UsageError(f"{name}: two generated files would have this name")
        seen.add(path)
        previous = _previous(path, name)
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


def target_inside(root: Path, name: str) -> Path:
    """``root / name``, refused unless it stays inside ``root`` in an existing directory."""
    bad = control_character(name)
    if not name or bad is not None or PurePath(name).is_absolute():
        shown = json.dumps(name)
        raise UsageError(
            f"{shown} is not a file name inside the project",
            hint="give a relative path such as Dockerfile.prod",
        )
    path = root / name
    parent = path.parent.resolve()
    base = root.resolve()
    if parent != base and base not in parent.parents:
        raise UsageError(
            f"{name} is outside the project {root}",
            hint="write generated files inside the project directory",
        )
    if not parent.is_dir():
        raise UsageError(f"{path.parent} is not a directory", hint="create it first")
    return path


def _previous(path: Path, name: str) -> str | None:
    """The current text of ``path``, None when it does not exist; refused if not a regular file."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise UvdockError(f"cannot read {path} ({err.strerror})") from err
    if stat.S_ISLNK(info.st_mode):
        raise UsageError(
            f"{path} is a symbolic link; uvdock neither reads nor writes through links",
            hint=f"remove the link or pick another name for {name}",
        )
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(
            f"{path} exists and is not a regular file",
            hint=f"remove it or pick another name for {name}",
        )
    try:
        with path.open("rb") as stream:
            data = stream.read(_MAX_PREVIOUS + 1)
    except OSError as err:
        raise UvdockError(f"cannot read {path} ({err.strerror})") from err
    # An unreadable or huge file differs from what uvdock writes: an overwrite.
    if len(data) > _MAX_PREVIOUS:
        return ""
    # As read_text reads it: universal newlines, so a CRLF copy of the same text is unchanged.
    text = data.decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


_MAX_PREVIOUS = 10 * 1024 * 1024


def write_all(changes: Sequence[FileChange]) -> None:
    """Write every changed file, all or nothing.

    New contents go to temporary files beside their targets; then each existing
    target is hard-linked to a backup, and the temporary files replace the
    targets. If a replace fails (a target became a directory, a disk error), the
    ones already replaced are put back from their backups and new files removed,
    so either every file is the new one or every file is as it was.
    """
    pending = [c for c in changes if c.action != "unchanged"]
    staged: list[tuple[Path, FileChange]] = []
    try:
        for change in pending:
            staged.append((_stage(change), change))
    except OSError as err:
        _remove([temp for temp, _ in staged])
        raise _write_error(err, pending[0].path.parent) from err
    backups: dict[Path, Path] = {}
    done: list[Path] = []
    try:
        for temp, change in staged:
            if change.path.exists():
                backup = change.path.with_name(f".{change.path.name}.uvdock-old")
                backup.unlink(missing_ok=True)
                try:
                    os.link(change.path, backup)
                except OSError:  # a file system without hard links
                    shutil.copy2(change.path, backup)
                backups[change.path] = backup
            temp.replace(change.path)
            done.append(change.path)
    except OSError as err:
        for path in done:
            with contextlib.suppress(OSError):
                if path in backups:
                    backups.pop(path).replace(path)
                else:
                    path.unlink()
        _remove([temp for temp, _ in staged] + list(backups.values()))
        raise _write_error(err, pending[0].path.parent) from err
    _remove(list(backups.values()))


def _stage(change: FileChange) -> Path:
    """The new contents in a temporary file beside the target, with the target's mode."""
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{change.path.name}.", suffix=".uvdock-tmp", dir=change.path.parent
    )
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(change.content)
            stream.flush()
            os.fsync(stream.fileno())
        mode = 0o644
        if change.path.exists():
            mode = stat.S_IMODE(change.path.stat().st_mode)
        temp.chmod(mode)
    except OSError:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def _write_error(err: OSError, where: Path) -> UvdockError:
    shown = err.filename or where
    return UvdockError(
        f"cannot write {shown} ({err.strerror}); no file was changed",
        hint="check the directory's permissions and free space",
    )
