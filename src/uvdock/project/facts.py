"""Facts read straight from a parsed ``pyproject.toml``, shared by detection and lint.

Both ask the same questions of the same table (is it a package? which files
does its build read? what Python does it allow?), so they share the answers;
the lint context once had its own copies, which drifted (it missed
``license-files``). Pure functions of the parsed table: nothing is read here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def is_packaged(pyproject: Mapping[str, Any]) -> bool:
    """A package (built and installed) rather than a virtual project, as uv decides."""
    package = _table(_table(pyproject, "tool"), "uv").get("package")
    if isinstance(package, bool):
        return package
    return bool(pyproject.get("build-system"))


def referenced_files(pyproject: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The files ``[project]`` names (readme, licence, licence files), which a build reads."""
    project = _table(pyproject or {}, "project")
    files: list[str] = []
    readme = project.get("readme")
    if isinstance(readme, str):
        files.append(readme)
    elif isinstance(readme, dict) and isinstance(readme.get("file"), str):
        files.append(readme["file"])
    license_ = project.get("license")
    if isinstance(license_, dict) and isinstance(license_.get("file"), str):
        files.append(license_["file"])
    license_files = project.get("license-files", ())
    if isinstance(license_files, list):
        files.extend(p for p in license_files if isinstance(p, str))
    return tuple(files)


def requires_python(pyproject: Mapping[str, Any] | None) -> str | None:
    value = _table(pyproject or {}, "project").get("requires-python")
    return value if isinstance(value, str) else None


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}
