"""Is ``uv.lock`` up to date with the workspace's ``pyproject.toml`` files? uv's own answer.

``uv lock --check`` is the authority, but uvdock cannot run it at plan time:
uv has no library API, the command needs an interpreter that satisfies
``requires-python`` on the host (often absent) and, when the lock does not
satisfy the project, it re-resolves, which may need the network. So the rules
``uv lock --check`` applies before it would resolve are re-implemented here,
from the files alone, and the answer is one of three:

- ``fresh``: every check uv makes passes, so ``uv sync --locked`` accepts the lock;
- ``stale``: a check uv makes fails for certain (uv would re-resolve and
  report that the lock needs updating);
- ``unknown``: something uvdock does not model (dynamic dependencies that need
  a build, a local archive, an unusual marker or source, settings from
  ``uv.toml``...). The planner prints a note and does not refuse; the build's
  ``uv sync --locked`` decides.

The rules follow uv 0.13.9 (read from its source distribution on PyPI,
``uv-0.13.9.tar.gz``; the public GitHub snapshot stops at 0.12.5, before lock
revisions 4 and 5), in uv's order:

- ``crates/uv-lock-operations/src/validated_lock.rs`` ``ValidatedLock::validate``:
  resolver options (``resolution-mode``, ``prerelease-mode``,
  ``fork-strategy``; an ``exclude-newer`` timestamp invalidates only when
  added, removed or moved earlier, ``crates/uv-configuration/src/exclude_newer.rs``),
  supported/required environments, conflicts, and ``requires-python`` compared as a *range*
  (``RequiresPython::range``), so ``>=3.12,<3.13`` in ``pyproject.toml`` and
  ``==3.12.*`` in ``uv.lock`` are the same, while holes such as
  ``!=3.11.*`` are ignored (only the bounding range is compared);
- ``crates/uv-distribution-types/src/requires_python.rs`` and
  ``crates/uv-pep440/src/version_ranges.rs`` (``release_specifiers_to_ranges``):
  how ``requires-python`` becomes that range, the workspace's being the
  intersection of its members';
- ``crates/uv-lock/src/lock/mod.rs`` ``Lock::satisfies``: workspace members
  (``[manifest] members``), default groups and group metadata (lock revision
  5 and later), virtual/editable members, the manifest's requirements,
  constraints, overrides, excludes, build constraints, dependency groups and
  dependency metadata, then every local source tree reachable from the
  members: static or ``dynamic`` version, ``provides-extras`` (revision 1 and
  later), ``requires-dist`` and ``requires-dev`` (empty groups count from
  revision 1); registry and git packages are immutable and not descended into;
- ``crates/uv-lock/src/lock/requirements.rs`` ``normalize_requirement`` and
  ``crates/uv-configuration/src/normalized_requirements.rs``: requirements are
  compared as sets; a registry requirement's specifiers by the versions they
  accept (``>=1,<2`` equals ``<2.0,>=1.0``); markers semantically, after
  simplifying by the lock's ``requires-python`` (so
  ``python_version >= "3.8"`` under ``requires-python = ">=3.10"`` is no marker);
  path sources resolved against the workspace root;
- ``crates/uv-distribution/src/metadata/lowering.rs`` and ``requires_dist.rs``:
  how ``[tool.uv.sources]`` (``path``, ``editable``, ``workspace``, ``git``,
  ``url``, ``index``) turn a requirement into what the lock records, and that a
  local source drops the version specifier;
- ``crates/uv-workspace/src/dependency_groups.rs``: ``include-group`` is
  flattened and the legacy ``[tool.uv] dev-dependencies`` is the ``dev`` group;
- ``crates/uv-pep508/src/marker/algebra.rs``: ``platform_system`` values that
  equal a ``sys_platform`` value are the same marker.

``tests/unit/test_freshness.py`` runs the real ``uv lock --check`` on every case
in ``tests/fixtures/locks/`` and requires the same verdict.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from uvdock.project.documents import read_lock, read_pyproject, read_uv_toml
from uvdock.project.freshness.base import StaleError, UndecidableError
from uvdock.project.freshness.lowering import uv_table
from uvdock.project.freshness.manifest import ManifestChecks
from uvdock.project.freshness.packages import PackageChecks
from uvdock.project.freshness.settings import SettingsChecks
from uvdock.project.freshness.sources import join, tree_path
from uvdock.project.workspace import members as workspace_members

__all__ = [
    "UV_VERSION",
    "Freshness",
    "FreshnessState",
    "check_freshness",
    "check_workspace_freshness",
]

#: The uv release whose rules this module follows.
UV_VERSION = "0.13.9"

FreshnessState = Literal["fresh", "stale", "unknown"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Freshness:
    """The verdict on a lock: ``state`` and, unless fresh, one line saying why."""

    state: FreshnessState
    reason: str | None = None


class _Checker(SettingsChecks, ManifestChecks, PackageChecks):
    """All of ``uv lock --check``'s checks that need no resolution, in uv's order."""

    # -- the checks, in uv's order

    def run(self) -> None:
        version = self.lock.get("version")
        if version != 1:
            raise UndecidableError(f"uv.lock version {version!r} (uv {UV_VERSION} reads 1)")
        revision = self.lock.get("revision", 0)
        self.revision = revision if isinstance(revision, int) else 0
        settings_elsewhere = self.check_settings_sources()
        self.read_lock_python()
        for settings_check in (self.check_options, self.check_environments, self.check_conflicts):
            self.settings_check(settings_check, settings_elsewhere=settings_elsewhere)
        self.check_requires_python()
        self.check_members()
        self.check_default_groups()
        self.check_group_metadata()
        self.check_virtual_editable()
        self.settings_check(self.check_manifest, settings_elsewhere=settings_elsewhere)
        self.check_packages()


def check_freshness(
    *,
    lock_data: Mapping[str, Any],
    pyproject: Mapping[str, Any],
    members: Mapping[str, Mapping[str, Any]] | None = None,
    local_packages: Mapping[str, Mapping[str, Any]] | None = None,
    uv_toml: Mapping[str, Any] | None = None,
) -> Freshness:
    """Does ``uv.lock`` (parsed) satisfy the workspace, by ``uv lock --check``'s rules?

    ``pyproject`` is the workspace root's; ``members`` maps every other member's
    path relative to the root (posix, e.g. ``"packages/api"``) to its parsed
    ``pyproject.toml``; ``local_packages`` does the same for local directory
    dependencies that are not members (uv validates those too); ``uv_toml`` is
    the root's parsed ``uv.toml``, if any. Nothing is read from disk.
    """
    try:
        checker = _Checker(
            lock=lock_data,
            pyproject=pyproject,
            members=members or {},
            local_packages=local_packages or {},
            uv_toml=uv_toml,
        )
        checker.run()
    except StaleError as stale:
        return Freshness(state="stale", reason=str(stale))
    except UndecidableError as err:
        return Freshness(state="unknown", reason=f"cannot tell whether uv.lock is current: {err}")
    if checker.unknown:
        return Freshness(
            state="unknown", reason=f"cannot tell whether uv.lock is current: {checker.unknown[0]}"
        )
    return Freshness(state="fresh")


def _read(path: Path) -> dict[str, Any] | None:
    """A pyproject.toml, uv.lock or uv.toml, checked against its schema; None if absent."""
    if not os.path.lexists(path):
        return None
    if path.name == "uv.lock":
        return read_lock(path)[0]
    if path.name == "uv.toml":
        return read_uv_toml(path)
    return read_pyproject(path)[0]


def check_workspace_freshness(
    root: Path, *, lock_data: Mapping[str, Any] | None = None
) -> Freshness:
    """``check_freshness`` for the workspace at ``root`` (which holds ``uv.lock``), from disk.

    Reads the root's ``pyproject.toml``, ``uv.lock`` (unless the caller parsed it
    already: ``lock_data``; an ML project's lock runs to megabytes) and ``uv.toml``,
    the members' ``pyproject.toml`` (``[tool.uv.workspace]``) and those of the local
    directory packages the lock or the sources name.
    """
    pyproject = _read(root / "pyproject.toml") or {}
    lock = lock_data if lock_data is not None else _read(root / "uv.lock")
    if lock is None:
        return Freshness(state="unknown", reason="there is no uv.lock")
    members = {m.path.as_posix(): m.pyproject for m in workspace_members(root, pyproject)}
    local: dict[str, Mapping[str, Any]] = {}
    wanted = [p for p in map(tree_path, lock.get("package", [])) if p is not None]
    projects: list[tuple[str, Mapping[str, Any]]] = [(".", pyproject), *members.items()]
    while projects:
        base, data = projects.pop()
        for value in (uv_table(data).get("sources") or {}).values():
            for source in value if isinstance(value, list) else [value]:
                if isinstance(source, dict) and "path" in source:
                    wanted.append(join(base, str(source["path"])))
        while wanted:
            path = wanted.pop()
            if path in local or path in members or path == ".":
                continue
            found = _read(root / path / "pyproject.toml")
            if found is not None:
                local[path] = found
                projects.append((path, found))
    return check_freshness(
        lock_data=lock,
        pyproject=pyproject,
        members=members,
        local_packages=local,
        uv_toml=_read(root / "uv.toml"),
    )
