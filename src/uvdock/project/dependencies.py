"""Where the dependencies are declared (``uv.lock``, ``pyproject.toml``, requirements
files), the names they list, and which dependency groups production installs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from uvdock.config import Settings
from uvdock.errors import ConfigError, ProjectError
from uvdock.project.lockfile import installed_packages
from uvdock.project.model import DependencySource, LockInfo, Sourced
from uvdock.project.readfile import MANIFEST_LIMIT, exists, read_text
from uvdock.project.schema import control_character
from uvdock.project.servers import distributions_from_requirements

__all__ = [
    "DEV_GROUPS",
    "declared_default_groups",
    "dependency_names",
    "dependency_source",
    "production_groups",
]

_DEV_REQUIREMENTS = re.compile(r"(dev|test|tests|lint|docs|doc|ci|typing)", re.IGNORECASE)


def _requirements_file(root: Path) -> tuple[Path | None, list[str]]:
    notes: list[str] = []
    for path in root.glob("requirements*.txt"):
        # The name is copied into the Dockerfile: a newline there would start an instruction.
        wrong = control_character(path.name)
        if wrong:
            raise ConfigError(
                f"the file name {path.name!r} {wrong}",
                path=root,
                hint="rename the requirements file",
            )
    main = root / "requirements.txt"
    if exists(main):
        others = sorted(p.name for p in root.glob("requirements*.txt") if p != main)
        if others:
            notes.append(f"ignored for the image: {', '.join(others)} (requirements.txt is used)")
        return main, notes
    candidates = sorted(
        p for p in root.glob("requirements*.txt") if not _DEV_REQUIREMENTS.search(p.stem[12:])
    )
    if len(candidates) == 1:
        return candidates[0], notes
    return None, notes


def dependency_source(
    root: Path, pyproject: Mapping[str, Any] | None, settings: Settings
) -> tuple[Sourced[DependencySource], Path | None, list[str]]:
    # exists, not is_file: a uv.lock that is a FIFO or a directory is reported when read.
    has_lock = exists(root / "uv.lock")
    has_project = pyproject is not None and isinstance(pyproject.get("project"), dict)
    requirements, notes = _requirements_file(root)
    foreign = [name for name in ("poetry.lock", "Pipfile.lock") if (root / name).is_file()]

    explicit = settings.sourced("source")
    if explicit.value is not None:
        choice: DependencySource = explicit.value
        if choice == "uv" and not has_lock:
            raise ProjectError(
                f"{explicit.source} uv: there is no uv.lock in {root}", hint="run `uv lock`"
            )
        if choice == "requirements" and requirements is None:
            raise ProjectError(f"{explicit.source} requirements: no requirements.txt in {root}")
        if choice == "pyproject" and not has_project:
            raise ProjectError(f"{explicit.source} pyproject: no [project] table in {root}")
        return Sourced(choice, explicit.source), requirements, notes

    found: list[tuple[DependencySource | str, str]] = []
    if has_lock:
        found.append(("uv", "uv.lock"))
    elif has_project:
        found.append(("pyproject", "pyproject.toml"))
    if requirements is not None:
        found.append(("requirements", requirements.name))
    found.extend((name, name) for name in foreign)

    if len(found) > 1:
        names = " and ".join(f for _, f in found)
        selectable = [k for k, _ in found if k in ("uv", "requirements", "pyproject")]
        raise ProjectError(
            f"{root}: several dependency sources ({names})",
            hint=f"choose one with --source {' or --source '.join(selectable) or 'uv'} "
            "(or [tool.uvdock] source)",
        )
    if not found:
        raise ProjectError(
            f"{root}: no dependency source (uv.lock, pyproject.toml or requirements.txt)",
            hint="run `uv init` and `uv lock`, or add a requirements.txt",
        )
    kind, filename = found[0]
    if kind in ("poetry.lock", "Pipfile.lock"):
        tool = "Poetry" if kind == "poetry.lock" else "Pipenv"
        raise ProjectError(
            f"{root / filename}: {tool} projects are not supported yet",
            hint="migrate to uv with `uvx migrate-to-uv` then `uv lock`, or export a "
            "requirements.txt and use --source requirements",
        )
    source: DependencySource = (
        "uv" if kind == "uv" else ("pyproject" if kind == "pyproject" else "requirements")
    )
    return Sourced(source, filename), requirements, notes


def _requirement_lines(path: Path) -> list[str]:
    lines: list[str] = []
    pending = ""
    # Up to the lock's size limit: a requirements.txt with hashes is a lock.
    for raw in read_text(path, limit=MANIFEST_LIMIT).splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            lines.append(line)
    return lines


def _requirements_facts(path: Path) -> tuple[frozenset[str], bool]:
    names: set[str] = set()
    hashed = True
    any_requirement = False
    for line in _requirement_lines(path):
        if line.startswith("-"):
            continue
        any_requirement = True
        if "--hash=" not in line:
            hashed = False
        spec = line.split(" --hash", 1)[0].split(";")[0].strip()
        try:
            names.add(canonicalize_name(Requirement(spec).name))
        except InvalidRequirement:
            continue
    return frozenset(names), hashed and any_requirement


def dependency_names(
    source: DependencySource,
    *,
    lock: LockInfo | None,
    pyproject: Mapping[str, Any] | None,
    requirements: Path | None,
    roots: list[str],
    python: str,
    extras: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
) -> tuple[frozenset[str], bool]:
    if source == "requirements" and requirements is not None:
        return _requirements_facts(requirements)
    if source == "uv" and lock is not None:
        installed = installed_packages(
            lock.packages,
            roots=roots,
            python=python,
            platform="linux/amd64",
            extras=extras,
            groups=groups,
        )
        names = frozenset(p.name for p in installed)
        if lock.state == "stale":
            # A lock that is not this project's (a stub, an old one) says too little:
            # add what pyproject.toml declares, so the command is still found.
            declared = [
                str(t) for t in (pyproject or {}).get("project", {}).get("dependencies", ())
            ]
            names |= distributions_from_requirements(declared)
        return names, False
    # No lock: what [project] dependencies bring in, extras included, as far as known.
    requirements_text = [
        str(t) for t in (pyproject or {}).get("project", {}).get("dependencies", ())
    ]
    return distributions_from_requirements(requirements_text), False


# Group names that are for developing, never for running the app.
DEV_GROUPS = frozenset({
    "dev", "develop", "development", "test", "tests", "testing", "lint", "linting", "linters",
    "docs", "doc", "documentation", "typing", "types", "mypy", "ci", "coverage", "format",
    "formatting", "pre-commit", "debug", "profiling", "bench", "benchmark", "benchmarks",
    "check", "checks", "qa", "style", "notebook", "notebooks", "release",
})  # fmt: skip


def production_groups(
    settings: Settings, *, default_groups: tuple[str, ...], dependency_groups: tuple[str, ...]
) -> Sourced[tuple[str, ...]] | None:
    """The dependency groups the image gets: none, unless the project says otherwise."""
    given = settings.sourced("groups")
    if given.value is not None:
        return Sourced(tuple(given.value), given.source)
    defaults = default_groups
    if not defaults:
        return None  # uv's default groups are just `dev`: --no-dev leaves it out
    if defaults == ("all",):
        defaults = dependency_groups
    kept = tuple(g for g in defaults if canonicalize_name(g) not in DEV_GROUPS)
    left = [g for g in defaults if g not in kept]
    why = "[tool.uv] default-groups"
    if left:
        why += f" without {', '.join(left)} (for development)"
    return Sourced(kept, why)


def declared_default_groups(pyproject: Mapping[str, Any] | None) -> tuple[str, ...]:
    groups = (pyproject or {}).get("tool", {}).get("uv", {}).get("default-groups")
    if groups == "all":
        return ("all",)
    return tuple(str(g) for g in groups) if isinstance(groups, list) else ()
