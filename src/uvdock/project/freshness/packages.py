"""The checks of the locked packages reachable from the members: local source trees
(members, path dependencies) against their ``pyproject.toml``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from packaging.version import InvalidVersion, Version

from uvdock.project.freshness.base import StaleError, UndecidableError, normalize
from uvdock.project.freshness.lowering import Static, Workspace, uv_table
from uvdock.project.freshness.requirements import describe_change, diff
from uvdock.project.freshness.sources import index_location, lock_reqs, tree_path

__all__ = ["PackageChecks"]


class PackageChecks(Workspace):
    """``Lock::satisfies``'s queue: every local source tree reachable from the members."""

    # -- the locked packages (Lock::satisfies's queue)

    def check_packages(self) -> None:
        queue: list[dict[str, Any]] = []
        for name in sorted(self.members):
            package = self.find(name)
            if package is None:
                what = "workspace member" if len(self.members) > 1 else "project"
                raise StaleError(f"uv.lock has no entry for the {what} {name!r}")
            queue.append(package)
        for reqs in self.root_groups().values():
            for req in reqs:
                for package in self.packages:
                    if normalize(str(package.get("name", ""))) != req.name:
                        continue
                    if tree_path(package) is not None:
                        if req.marker is not None:
                            self.note(f"{req.name} is required only where {req.marker.text}")
                        queue.append(package)
        seen: set[int] = set()
        while queue:
            package = queue.pop(0)
            if id(package) in seen:
                continue
            seen.add(id(package))
            if self.check_package(package):
                queue.extend(self.dependencies(package))

    def dependencies(self, package: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        entries = list(package.get("dependencies", []))
        for table in ("optional-dependencies", "dev-dependencies"):
            for deps in (package.get(table) or {}).values():
                entries += deps
        for entry in entries:
            name = normalize(str(entry.get("name", "")))
            candidates = [
                p
                for p in self.packages
                if normalize(str(p.get("name", ""))) == name
                and entry.get("version", p.get("version")) == p.get("version")
                and entry.get("source", p.get("source")) == p.get("source")
            ]
            yield from candidates[:1]

    def check_package(self, package: Mapping[str, Any]) -> bool:
        """Validate one locked package; False when uv does not descend into it."""
        name = normalize(str(package.get("name", "")))
        source = package.get("source", {})
        if not isinstance(source, dict):
            raise UndecidableError(f"the source of {name} in uv.lock")
        if "registry" in source:
            self.check_index(name, str(source["registry"]))
            return False
        if "git" in source:
            return False
        if "url" in source:
            return True  # offline, uv keeps the recorded metadata; online it is the same archive
        path = tree_path(package)
        if path is None:
            self.note(f"{name} is a local archive; uv reads its metadata to compare")
            return False
        static = self.static(path)
        if static is None:
            return True
        version = package.get("version")
        if version is not None:
            self.check_static_version(name, str(version), static)
        elif not static.dynamic_version:
            raise StaleError(
                f"the version of {name} is no longer dynamic since uv.lock was written"
            )
        self.check_metadata(name, package, static)
        return True

    def check_static_version(self, name: str, version: str, static: Static) -> None:
        if static.dynamic_version:
            raise StaleError(f"the version of {name} is dynamic now; uv.lock has {version}")
        if static.version is None:
            self.note(f"{name} has no version in pyproject.toml; uv builds it to know")
            return
        try:
            same = Version(static.version) == Version(version)
        except InvalidVersion:
            same = static.version == version
        if not same:
            raise StaleError(
                f"the version of {name} is {static.version} in pyproject.toml "
                f"but {version} in uv.lock"
            )

    def check_metadata(self, name: str, package: Mapping[str, Any], static: Static) -> None:
        metadata = package.get("metadata", {})
        if not isinstance(metadata, dict):
            metadata = {}
        if self.revision >= 1:
            recorded = frozenset(normalize(str(e)) for e in metadata.get("provides-extras", []))
            if recorded != static.provides_extras:
                change = ", ".join(
                    [
                        *(f"+{e}" for e in sorted(static.provides_extras - recorded)),
                        *(f"-{e}" for e in sorted(recorded - static.provides_extras)),
                    ]
                )
                raise StaleError(f"extras of {name!r} changed since uv.lock was written ({change})")
        recorded_reqs = lock_reqs(metadata.get("requires-dist"))
        try:
            added, removed = diff(static.requires_dist, recorded_reqs, self.python_bounds)
        except UndecidableError as err:
            self.note(f"dependencies of {name!r}: {err}")
            added, removed = [], []
        if (added or removed) and static.dynamic_version and static.self_referential:
            self.note(f"dependencies of {name!r}: a build may flatten its self-referencing extras")
        elif added or removed:
            raise StaleError(
                f"dependencies of {name!r} changed since uv.lock was written "
                f"({describe_change(added, removed)})"
            )
        raw = metadata.get("requires-dev", metadata.get("dependency-groups", {}))
        recorded_groups = {normalize(g): lock_reqs(r) for g, r in raw.items()}
        groups = static.groups
        if self.revision < 1:
            groups = {g: r for g, r in groups.items() if r}
            recorded_groups = {g: r for g, r in recorded_groups.items() if r}
        self.compare_groups(groups, recorded_groups, repr(name))

    def check_index(self, name: str, registry: str) -> None:
        declared = [i for i in uv_table(self.root).get("index", []) if isinstance(i, dict)]
        if not declared:
            return  # uv skips the check when no index is configured
        allowed = {index_location(str(i.get("url", ""))) for i in declared}
        if not any(i.get("default") for i in declared):
            allowed.add("https://pypi.org/simple")
        if index_location(registry) not in allowed:
            self.note(f"{name} comes from {registry}, an index pyproject.toml does not list")
