"""The checks of the resolver settings: options, ``exclude-newer``, environments,
conflicts and ``requires-python``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from uvdock.project.freshness.base import StaleError, UndecidableError, normalize
from uvdock.project.freshness.lowering import Workspace, project_table, uv_table
from uvdock.project.freshness.markers import Marker, markers_equal, parse_marker
from uvdock.project.freshness.ranges import (
    FULL,
    bounding_range,
    intersect,
    parse_specifiers,
    specifier_set_ranges,
)

__all__ = ["SettingsChecks"]


class SettingsChecks(Workspace):
    """``ValidatedLock::validate``: the resolver settings the lock was made with."""

    def settings_check(self, check: Callable[[], None], *, settings_elsewhere: bool) -> None:
        """Run a check of ``[tool.uv]`` settings; with a ``uv.toml``, a difference is unknown."""
        try:
            check()
        except StaleError as stale:
            if not settings_elsewhere:
                raise
            self.note(f"{stale} (but uv.toml may set it)")

    def check_settings_sources(self) -> bool:
        """Whether the root's ``uv.toml`` sets what this module reads from ``[tool.uv]``."""
        modelled = {
            "resolution",
            "prerelease",
            "fork-strategy",
            "exclude-newer",
            "exclude-newer-package",
            "environments",
            "required-environments",
            "conflicts",
            "constraint-dependencies",
            "override-dependencies",
            "exclude-dependencies",
            "build-constraint-dependencies",
            "dependency-metadata",
            "index",
            "index-url",
            "extra-index-url",
            "find-links",
            "sources",
            "minimum-libc-version",
        }
        return bool(modelled & set(self.uv_toml))

    def check_options(self) -> None:
        options = self.lock.get("options", {})
        if not isinstance(options, dict):
            options = {}
        settings = uv_table(self.root)
        pairs = (
            ("resolution", "resolution-mode", "highest"),
            ("prerelease", "prerelease-mode", "if-necessary"),
            ("fork-strategy", "fork-strategy", "requires-python"),
        )
        for key, lock_key, default in pairs:
            wanted = settings.get(key, default)
            locked = options.get(lock_key, default)
            if "if-necessary-or-explicit" in (wanted, locked) and wanted != locked:
                self.note(f"{key} {wanted!r} against {locked!r} in uv.lock")
            elif wanted != locked:
                raise StaleError(f"{key} is {wanted!r} in pyproject.toml but {locked!r} in uv.lock")
        other = set(options) - {lock_key for _, lock_key, _ in pairs} - {"exclude-newer"}
        if other or {"exclude-newer-package", "minimum-libc-version"} & set(settings):
            self.note(f"the resolver options {sorted(other)} are not modelled")
        self.check_exclude_newer(settings.get("exclude-newer"), options.get("exclude-newer"))

    def check_exclude_newer(self, wanted: object, locked: object) -> None:
        """``ExcludeNewer::compare``: added, removed, or moved earlier invalidates the lock."""
        if wanted is None and locked is None:
            return
        if wanted is None or locked is None:
            state = "added to" if locked is None else "removed from"
            raise StaleError(f"exclude-newer was {state} [tool.uv] since uv.lock was written")
        instants = (_instant(wanted), _instant(locked))
        if instants[0] is None or instants[1] is None:
            self.note(f"exclude-newer {wanted!r} against {locked!r} is not modelled")
        elif instants[0] < instants[1]:
            raise StaleError(
                f"exclude-newer is {wanted!r} in pyproject.toml, earlier than {locked!r} in uv.lock"
            )

    def marker_list(self, value: object) -> list[Marker]:
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [parse_marker(str(item)) for item in items]

    def check_environments(self) -> None:
        settings = uv_table(self.root)
        for key, lock_key in (
            ("environments", "supported-markers"),
            ("required-environments", "required-markers"),
        ):
            wanted = self.marker_list(settings.get(key))
            locked = self.marker_list(self.lock.get(lock_key))
            if len(wanted) != len(locked):
                raise StaleError(f"[tool.uv] {key} changed since uv.lock was written")
            try:
                same = all(
                    markers_equal(a, b, self.python_bounds)
                    for a, b in zip(wanted, locked, strict=True)
                )
            except UndecidableError as err:
                self.note(f"[tool.uv] {key}: {err}")
                continue
            if not same:
                raise StaleError(f"[tool.uv] {key} changed since uv.lock was written")

    def check_conflicts(self) -> None:
        """``Workspace::conflicts`` against the lock's ``conflicts`` (a list of sets)."""
        owners: list[tuple[str | None, Mapping[str, Any]]] = []
        if self.non_project:
            owners.append((None, self.root))
        owners += [(name, self.pyprojects[self.members[name]]) for name in sorted(self.members)]
        declared = [
            _conflict_set(conflict, owner)
            for owner, pyproject in owners
            for conflict in uv_table(pyproject).get("conflicts", [])
        ]
        recorded = [_conflict_set(conflict, None) for conflict in self.lock.get("conflicts", [])]
        if declared != recorded:
            if sorted(declared, key=sorted) == sorted(recorded, key=sorted):
                self.note("[tool.uv] conflicts listed in another order")
                return
            raise StaleError("[tool.uv] conflicts changed since uv.lock was written")

    def read_lock_python(self) -> None:
        locked = self.lock.get("requires-python")
        if not isinstance(locked, str):
            raise UndecidableError("uv.lock has no requires-python")
        lock_ranges = specifier_set_ranges(parse_specifiers(locked), release_only=True)
        if lock_ranges is None:
            raise UndecidableError(f"requires-python {locked!r} in uv.lock is not modelled")
        self.python_bounds = bounding_range(lock_ranges)

    def check_requires_python(self) -> None:
        declared: list[str] = []
        for path in sorted(self.members.values()):
            value = (project_table(self.pyprojects[path]) or {}).get("requires-python")
            if isinstance(value, str):
                declared.append(value)
        locked = str(self.lock.get("requires-python"))
        if not declared:
            self.note("no requires-python in pyproject.toml: uv uses the interpreter's version")
            return
        ranges = FULL
        for text in declared:
            one = specifier_set_ranges(parse_specifiers(text), release_only=True)
            if one is None:
                raise UndecidableError(f"requires-python {text!r} is not modelled")
            ranges = intersect(ranges, one)
        if not ranges:
            raise UndecidableError("the members' requires-python do not intersect (uv fails)")
        if bounding_range(ranges) != self.python_bounds:
            shown = " and ".join(dict.fromkeys(declared))
            raise StaleError(
                f"requires-python is {shown!r} in pyproject.toml but {locked!r} in uv.lock"
            )


def _conflict_set(items: object, owner: str | None) -> frozenset[tuple[str, str, str]]:
    """One set of ``conflicts``: (package, "extra" | "group" | "project", name) items."""
    if not isinstance(items, list):
        raise UndecidableError("a [tool.uv] conflicts entry that is not a list")
    out: set[tuple[str, str, str]] = set()
    for item in items:
        if not isinstance(item, dict) or not set(item) <= {"package", "extra", "group"}:
            raise UndecidableError(f"the conflict item {item!r}")
        package = item.get("package", owner)
        if not isinstance(package, str):
            raise UndecidableError(f"the conflict item {item!r} names no package")
        kind = "extra" if "extra" in item else "group" if "group" in item else "project"
        out.add((normalize(package), kind, normalize(str(item.get(kind, "")))))
    return frozenset(out)


def _instant(value: object) -> dt.datetime | None:
    """An RFC 3339 timestamp with its offset; dates and relative spans are not modelled."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
