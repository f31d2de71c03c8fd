"""The checks of the workspace root and its members against the lock's ``[manifest]``:
members, default groups, virtual or editable, constraints and overrides."""

from __future__ import annotations

import dataclasses

from packaging.requirements import InvalidRequirement, Requirement

from uvdock.project.freshness.base import StaleError, UndecidableError, normalize
from uvdock.project.freshness.lowering import Workspace, pyproject_is_package, uv_table
from uvdock.project.freshness.markers import parse_marker
from uvdock.project.freshness.requirements import Registry, Req
from uvdock.project.freshness.sources import lock_reqs

__all__ = ["ManifestChecks"]


class ManifestChecks(Workspace):
    """``Lock::satisfies``, up to the packages: members, groups and the ``[manifest]``."""

    def check_members(self) -> None:
        names = set(self.members)
        expected = names if (len(names) > 1 or self.non_project) else set()
        actual = {normalize(str(n)) for n in self.manifest().get("members", [])}
        if expected != actual:
            change = ", ".join(
                [
                    *(f"+{n}" for n in sorted(expected - actual)),
                    *(f"-{n}" for n in sorted(actual - expected)),
                ]
            )
            raise StaleError(f"workspace members changed since uv.lock was written ({change})")

    def check_default_groups(self) -> None:
        if self.revision < 5:  # noqa: PLR2004 (DEFAULT_GROUPS_REVISION)
            return

        def nonstandard(groups: object) -> object:
            if isinstance(groups, list):
                normalized = [normalize(str(g)) for g in groups]
                return None if normalized == ["dev"] else normalized
            return groups

        expected: dict[str, object] = {}
        actual: dict[str, object] = {}
        for name, path in self.members.items():
            configured = nonstandard(uv_table(self.pyprojects[path]).get("default-groups"))
            if configured is not None:
                expected[name] = configured
            package = self.find(name)
            recorded = nonstandard(package.get("default-groups")) if package else None
            if recorded is not None:
                actual[name] = recorded
        if expected != actual:
            raise StaleError("default-groups changed since uv.lock was written")
        if self.non_project:
            wanted = uv_table(self.root).get("default-groups", ["dev"])
            locked = self.manifest().get("default-groups", ["dev"])
            if nonstandard(wanted) != nonstandard(locked):
                raise StaleError("default-groups of the workspace root changed since uv.lock")

    def check_group_metadata(self) -> None:
        recorded = bool(self.manifest().get("group-requires-python"))
        if self.revision >= 5:  # noqa: PLR2004 (MEMBER_GROUP_METADATA_REVISION)
            for name in self.members:
                package = self.find(name)
                recorded = recorded or bool(package and package.get("group-requires-python"))
        owners = [self.pyprojects[p] for p in self.members.values()]
        if self.non_project:
            owners.append(self.root)
        if any(uv_table(owner).get("dependency-groups") for owner in owners):
            self.note("[tool.uv.dependency-groups] requires-python is not compared")
        elif recorded:
            raise StaleError("a dependency group's requires-python was removed since uv.lock")

    def check_virtual_editable(self) -> None:
        required = self.required_members()
        for name, path in sorted(self.members.items()):
            package = self.find(name)
            source = package.get("source", {}) if package else {}
            is_required = name in required
            virtual = not pyproject_is_package(
                self.pyprojects[path], require_build_system=not is_required
            )
            editable = False if virtual else required.get(name) is not False
            if package is None:
                continue  # MissingRoot, reported with the packages
            if ("virtual" in source) != virtual:
                state = "now" if virtual else "no longer"
                raise StaleError(
                    f"{name} is {state} a virtual project (not built and installed) "
                    "since uv.lock was written"
                )
            if ("editable" in source) != editable:
                state = "now" if editable else "no longer"
                raise StaleError(f"{name} is {state} editable since uv.lock was written")

    def check_manifest(self) -> None:
        manifest = self.manifest()
        if lock_reqs(manifest.get("requirements")):
            raise StaleError("uv.lock records requirements the workspace no longer has")
        locked_names = {normalize(str(p.get("name", ""))) for p in self.packages}
        settings = uv_table(self.root)
        for key, lock_key in (
            ("constraint-dependencies", "constraints"),
            ("override-dependencies", "overrides"),
            ("build-constraint-dependencies", "build-constraints"),
        ):
            recorded = lock_reqs(manifest.get(lock_key))
            names = locked_names | {r.name for r in recorded}
            declared = [self.plain(str(t)) for t in settings.get(key, [])]
            if key != "build-constraint-dependencies":
                declared = [r for r in declared if r.name in names]
            if key == "constraint-dependencies":
                declared = [
                    dataclasses.replace(r, extras=())
                    for r in declared
                    if not (isinstance(r.source, Registry) and not r.source.specifiers)
                ]
            self.compare(declared, recorded, f"[tool.uv] {key}")
        excludes = _names(settings.get("exclude-dependencies", []), "exclude-dependencies")
        recorded_excludes = _names(manifest.get("excludes", []), "excludes in uv.lock")
        excludes &= locked_names | recorded_excludes
        if excludes != recorded_excludes:
            raise StaleError("[tool.uv] exclude-dependencies changed since uv.lock was written")
        if settings.get("dependency-metadata") or manifest.get("dependency-metadata"):
            self.note("[tool.uv] dependency-metadata is not compared")
        groups = {g: r for g, r in self.root_groups().items() if r}
        raw = manifest.get("dependency-groups", {})
        recorded_groups = {normalize(g): lock_reqs(r) for g, r in raw.items()}
        recorded_groups = {g: r for g, r in recorded_groups.items() if r}
        self.compare_groups(groups, recorded_groups, "the workspace root")

    def plain(self, text: str) -> Req:
        try:
            parsed = Requirement(text)
        except InvalidRequirement as err:
            raise UndecidableError(f"cannot parse {text!r}") from err
        if parsed.url:
            raise UndecidableError(f"the direct reference {text!r} in [tool.uv]")
        name = normalize(parsed.name)
        if name in {normalize(k) for k in uv_table(self.root).get("sources", {})}:
            raise UndecidableError(f"{name} has a source and a [tool.uv] constraint or override")
        return Req(
            name,
            tuple(sorted({normalize(e) for e in parsed.extras})),
            parse_marker(str(parsed.marker)) if parsed.marker else None,
            Registry(tuple(sorted((s.operator, s.version) for s in parsed.specifier))),
        )


def _names(values: object, what: str) -> set[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise UndecidableError(f"{what} that are not plain package names")
    return {normalize(v) for v in values}
