"""The workspace being checked: its members and local projects, and their requirements
lowered through ``[tool.uv.sources]`` as uv does."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from uvdock.project.freshness.base import StaleError, UndecidableError, normalize
from uvdock.project.freshness.markers import and_extra, parse_marker
from uvdock.project.freshness.ranges import ABOVE_ALL, BELOW_ALL, Cut
from uvdock.project.freshness.requirements import (
    Directory,
    File,
    Git,
    Registry,
    Req,
    Source,
    Url,
    describe_change,
    diff,
)
from uvdock.project.freshness.sources import ARCHIVE_SUFFIXES, direct_source, git_repository, join

__all__ = ["Static", "Workspace", "project_table", "pyproject_is_package", "uv_table"]


def uv_table(pyproject: Mapping[str, Any]) -> Mapping[str, Any]:
    tool = pyproject.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    return uv if isinstance(uv, dict) else {}


def project_table(pyproject: Mapping[str, Any]) -> Mapping[str, Any] | None:
    project = pyproject.get("project")
    return project if isinstance(project, dict) else None


def pyproject_is_package(pyproject: Mapping[str, Any], *, require_build_system: bool) -> bool:
    """``PyProjectToml::is_package``: ``tool.uv.package``, else whether a build system exists."""
    package = uv_table(pyproject).get("package")
    if isinstance(package, bool):
        return package
    return "build-system" in pyproject or not require_build_system


@dataclasses.dataclass(frozen=True)
class _Project:
    """A project whose requirements are lowered: a member, or a local path dependency."""

    path: str  # posix, relative to the workspace root
    pyproject: Mapping[str, Any]
    # The workspace it is lowered in: its root, sources, indexes and members.
    workspace_root: str
    workspace_sources: Mapping[str, Any]
    workspace_indexes: Sequence[Any]
    workspace_members: Mapping[str, str]  # name -> path


@dataclasses.dataclass(frozen=True)
class Static:
    """What ``source_tree_requires_dist`` reads from a ``pyproject.toml`` without building."""

    version: str | None
    dynamic_version: bool
    requires_dist: list[Req]
    provides_extras: frozenset[str]
    groups: dict[str, list[Req]]
    self_referential: bool


class Workspace:
    """The lock and the workspace it is checked against; what is not modelled: ``unknown``."""

    def __init__(
        self,
        *,
        lock: Mapping[str, Any],
        pyproject: Mapping[str, Any],
        members: Mapping[str, Mapping[str, Any]],
        local_packages: Mapping[str, Mapping[str, Any]],
        uv_toml: Mapping[str, Any] | None,
    ) -> None:
        self.lock = lock
        self.root = pyproject
        self.uv_toml = uv_toml or {}
        self.unknown: list[str] = []
        self.revision = 0
        self.python_bounds: tuple[Cut, Cut] = (BELOW_ALL, ABOVE_ALL)
        self.pyprojects: dict[str, Mapping[str, Any]] = {
            join(".", path): data for path, data in local_packages.items()
        }
        self.members: dict[str, str] = {}  # name -> path
        for path, data in {".": pyproject, **members}.items():
            norm = join(".", path)
            self.pyprojects[norm] = data
            project = project_table(data)
            if project is None:
                if norm != ".":
                    raise UndecidableError(f"workspace member {path} has no [project] table")
                continue
            if not isinstance(project.get("name"), str):
                raise UndecidableError(f"workspace member {path} has no project name")
            self.members[normalize(project["name"])] = norm
        self.non_project = "." not in self.members.values()
        self.packages = [p for p in lock.get("package", ()) if isinstance(p, dict)]

    # -- helpers

    def note(self, reason: str) -> None:
        self.unknown.append(reason)

    def member_pyproject(self, name: str) -> Mapping[str, Any]:
        return self.pyprojects[self.members[name]]

    def required_members(self) -> dict[str, bool | None]:
        """Members another member reaches with ``{ workspace = true }``, and their ``editable``."""
        found: dict[str, bool | None] = {}
        root_name = project_table(self.root) or {}
        tables: list[tuple[str | None, Mapping[str, Any]]] = [
            (normalize(str(root_name.get("name", ""))), uv_table(self.root).get("sources", {}))
        ]
        tables += [
            (name, uv_table(self.member_pyproject(name)).get("sources", {}))
            for name, path in self.members.items()
            if path != "."
        ]
        for owner, sources in tables:
            if not isinstance(sources, dict):
                continue
            for raw_name, value in sources.items():
                name = normalize(raw_name)
                for source in value if isinstance(value, list) else [value]:
                    if (
                        name != owner
                        and isinstance(source, dict)
                        and source.get("workspace") is True
                    ):
                        editable = source.get("editable")
                        previous = found.get(name)
                        found[name] = editable if isinstance(editable, bool) else previous
        return found

    def project_for(self, path: str) -> _Project | None:
        pyproject = self.pyprojects.get(path)
        if pyproject is None:
            return None
        if path in self.members.values():
            sources = uv_table(self.root).get("sources", {})
            indexes = uv_table(self.root).get("index", [])
            return _Project(path, pyproject, ".", sources, indexes, self.members)
        project = project_table(pyproject) or {}
        own = {normalize(str(project.get("name", ""))): path}
        sources = uv_table(pyproject).get("sources", {})
        return _Project(path, pyproject, path, sources, uv_table(pyproject).get("index", []), own)

    # -- lowering (uv-distribution metadata/lowering.rs)

    def lower(self, text: str, project: _Project) -> Req:
        try:
            parsed = Requirement(text)
        except InvalidRequirement as err:
            raise UndecidableError(f"cannot parse the requirement {text!r}") from err
        name = normalize(parsed.name)
        marker = parse_marker(str(parsed.marker)) if parsed.marker else None
        extras = tuple(sorted({normalize(e) for e in parsed.extras}))
        own_name = normalize(str((project_table(project.pyproject) or {}).get("name", "")))
        own_sources = uv_table(project.pyproject).get("sources", {})
        origin = project.path
        sources = own_sources if isinstance(own_sources, dict) else {}
        source = next((v for k, v in sources.items() if normalize(k) == name), None)
        if source is None and isinstance(project.workspace_sources, dict):
            source = next(
                (v for k, v in project.workspace_sources.items() if normalize(k) == name),
                None,
            )
            origin = project.workspace_root
        is_workspace = isinstance(source, dict) and source.get("workspace") is True
        if name in project.workspace_members and name != own_name and not is_workspace:
            raise UndecidableError(f"{name} is a workspace member without a workspace source")
        if source is None:
            return Req(name, extras, marker, direct_source(parsed))
        if isinstance(source, list) or not isinstance(source, dict):
            raise UndecidableError(f"several or unusual [tool.uv.sources] for {name}")
        if {"marker", "extra", "group"} & source.keys():
            raise UndecidableError(
                f"a [tool.uv.sources] entry for {name} with a marker/extra/group"
            )
        specifiers = tuple(sorted((s.operator, s.version) for s in parsed.specifier))
        lowered = self.lower_source(name, source, project, origin, specifiers=specifiers)
        return Req(name, extras, marker, lowered)

    def lower_source(
        self,
        name: str,
        source: Mapping[str, Any],
        project: _Project,
        origin: str,
        *,
        specifiers: tuple[tuple[str, str], ...] = (),
    ) -> Source:
        if source.get("workspace") is True:
            path = project.workspace_members[name]
            is_package = pyproject_is_package(self.pyprojects[path], require_build_system=False)
            editable = self.required_members().get(name)
            if is_package and editable is not False:
                return Directory(path, editable=True, virtual=False)
            return Directory(path, editable=False, virtual=not is_package)
        if "path" in source:
            return self.path_source(str(source["path"]), source, origin)
        if "git" in source:
            return self.git_source(source)
        if "url" in source:
            subdirectory = source.get("subdirectory")
            return Url(str(source["url"]), str(subdirectory) if subdirectory else None)
        if "index" in source:
            # An index source changes where the package comes from, not which versions:
            # uv keeps the requirement's specifier (`six>=1.16` from the named index).
            return Registry(specifiers, self.index_url(str(source["index"]), project))
        raise UndecidableError(f"the [tool.uv.sources] entry for {name}")

    def path_source(self, raw: str, source: Mapping[str, Any], origin: str) -> Source:
        path = join(origin, raw)
        if path.endswith(ARCHIVE_SUFFIXES):
            return File(path)
        if source.get("editable") is True:
            return Directory(path, editable=True, virtual=False)
        package = source.get("package")
        if not isinstance(package, bool):
            target = self.pyprojects.get(path)
            if target is None:
                raise UndecidableError(f"the pyproject.toml of the path dependency {path}")
            package = pyproject_is_package(target, require_build_system=False)
        return Directory(path, editable=False, virtual=not package)

    def git_source(self, source: Mapping[str, Any]) -> Git:
        if source.get("lfs") or "path" in source:
            raise UndecidableError("a git source with `path` or `lfs`")
        reference = next(
            ((key, str(source[key])) for key in ("tag", "branch", "rev") if key in source), None
        )
        subdirectory = source.get("subdirectory")
        return Git(
            git_repository(str(source["git"])),
            reference,
            str(subdirectory) if subdirectory else None,
        )

    def index_url(self, name: str, project: _Project) -> str:
        for table in (uv_table(project.pyproject).get("index", []), project.workspace_indexes):
            for index in table if isinstance(table, list) else []:
                if isinstance(index, dict) and index.get("name") == name:
                    url = str(index.get("url", ""))
                    # uv records a local index as an absolute file:// URL, which
                    # cannot be matched from the files alone (see _sources_equal).
                    return url if "://" in url else f"file:{join(project.path, url)}"
        raise UndecidableError(f"the index {name!r} is not defined")

    # -- static metadata (RequiresDist::from_pyproject_toml, FlatDependencyGroups)

    def static(self, path: str) -> Static | None:
        project = self.project_for(path)
        if project is None:
            self.note(f"the pyproject.toml of {path} was not given")
            return None
        table = project_table(project.pyproject)
        if table is None:
            self.note(f"{path}/pyproject.toml has no [project] table; uv builds it to know")
            return None
        dynamic = table.get("dynamic", [])
        shown = repr(table.get("name", path))
        if {"dependencies", "optional-dependencies"} & set(dynamic):
            self.note(f"the dependencies of {shown} are dynamic; uv builds the project to know")
            return None
        if "dependencies" not in table and "poetry" in (project.pyproject.get("tool") or {}):
            self.note(f"{shown} declares its dependencies with Poetry")
            return None
        own = normalize(str(table.get("name", "")))
        requires = [self.lower(str(text), project) for text in table.get("dependencies", [])]
        optional = table.get("optional-dependencies", {})
        for extra, texts in optional.items():
            for text in texts:
                req = self.lower(str(text), project)
                requires.append(
                    dataclasses.replace(req, marker=and_extra(req.marker, normalize(extra)))
                )
        version = table.get("version")
        return Static(
            version=str(version) if version is not None else None,
            dynamic_version="version" in dynamic,
            requires_dist=requires,
            provides_extras=frozenset(normalize(e) for e in optional),
            groups=self.groups(project),
            self_referential=any(r.name == own for r in requires),
        )

    def groups(self, project: _Project) -> dict[str, list[Req]]:
        pyproject = project.pyproject
        settings = uv_table(pyproject).get("dependency-groups")
        if settings:
            raise UndecidableError("[tool.uv.dependency-groups] (group requires-python)")
        raw = pyproject.get("dependency-groups", {})
        declared = {normalize(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}
        flat: dict[str, list[str]] = {}

        def resolve(group: str, parents: tuple[str, ...]) -> list[str]:
            if group in parents or group not in declared:
                raise UndecidableError(f"dependency group {group!r} (missing or a cycle)")
            if group not in flat:
                items: list[str] = []
                for item in declared[group]:
                    if isinstance(item, str):
                        items.append(item)
                    elif isinstance(item, dict) and set(item) == {"include-group"}:
                        items += resolve(normalize(item["include-group"]), (*parents, group))
                    else:
                        raise UndecidableError(f"dependency group {group!r} entry {item!r}")
                flat[group] = items
            return flat[group]

        for group in declared:
            resolve(group, ())
        legacy = uv_table(pyproject).get("dev-dependencies")
        if isinstance(legacy, list):
            flat.setdefault("dev", [])
            flat["dev"] = [*flat["dev"], *map(str, legacy)]
        return {
            group: [self.lower(text, project) for text in texts] for group, texts in flat.items()
        }

    def manifest(self) -> Mapping[str, Any]:
        manifest = self.lock.get("manifest", {})
        return manifest if isinstance(manifest, dict) else {}

    def find(self, name: str) -> dict[str, Any] | None:
        found = [p for p in self.packages if normalize(str(p.get("name", ""))) == name]
        if len(found) > 1:
            raise UndecidableError(f"uv.lock has several packages named {name}")
        return found[0] if found else None

    def root_groups(self) -> dict[str, list[Req]]:
        if not self.non_project:
            return {}
        project = _Project(
            ".",
            self.root,
            ".",
            uv_table(self.root).get("sources", {}),
            uv_table(self.root).get("index", []),
            self.members,
        )
        return self.groups(project)

    def compare(self, expected: Sequence[Req], actual: Sequence[Req], what: str) -> None:
        try:
            added, removed = diff(expected, actual, self.python_bounds)
        except UndecidableError as err:
            self.note(f"{what}: {err}")
            return
        if added or removed:
            raise StaleError(
                f"{what} changed since uv.lock was written ({describe_change(added, removed)})"
            )

    def compare_groups(
        self, expected: Mapping[str, list[Req]], actual: Mapping[str, list[Req]], owner: str
    ) -> None:
        for group in sorted(set(expected) | set(actual)):
            if group not in expected or group not in actual:
                state = "added" if group in expected else "removed"
                raise StaleError(
                    f"dependency group {group!r} of {owner} was {state} since uv.lock was written"
                )
            self.compare(expected[group], actual[group], f"dependency group {group!r} of {owner}")
