"""``pyproject.toml``, ``uv.toml`` and ``uv.lock``: read once, bounded, and checked.

Every reader of these files in :mod:`uvdock.project` goes through here, so a
file that is a FIFO, too big, not UTF-8, not TOML, or has a value of the
wrong type or grammar at a key uvdock reads is one ``ConfigError`` naming
``file:line`` and the key, never a traceback further on.

The schemas describe the keys uvdock reads, with the types PEP 621, PEP 735,
the build-system spec (PEP 518) and uv's settings and lock format give them.
Values that reach generated files (the project name, requirement strings,
paths, script names) also have their grammar checked here, where they enter.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from uvdock._toml import parse_toml
from uvdock.grammar import PEP508_NAME
from uvdock.project.readfile import MANIFEST_LIMIT, read_text
from uvdock.project.schema import Array, Bool, Either, Int, Key, Str, Table, check

# --- grammars of the values that reach generated files ---------------------

# Entry point names (the packaging spec's recommendation, plus "+"): they become files in bin/.
_SCRIPT_NAME = re.compile(r"^[\w.+-]+$")
# An object reference, ``module.path:object.attr`` (extras in brackets, long deprecated).
_OBJECT_REFERENCE = re.compile(r"^\s*[\w.]+\s*(:\s*[\w.]+\s*)?(\[[\w\s,.-]*\]\s*)?$")


def package_name(text: str) -> str | None:
    # PEP 508 names: also extras (PEP 685) and groups (PEP 735); fullmatch, as `$`
    # would let a trailing newline through.
    if PEP508_NAME.fullmatch(text):
        return None
    return (
        "is not a valid name (letters, digits and . _ -, starting and ending "
        "with a letter or digit)"
    )


def requirement(text: str) -> str | None:
    try:
        Requirement(text)
    except InvalidRequirement as err:
        reason = str(err).splitlines()[0]
        return f"is not a PEP 508 requirement ({reason})"
    return None


def specifiers(text: str) -> str | None:
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return "is not a version specifier (such as '>=3.12')"
    return None


def relative_path(text: str) -> str | None:
    """A path (or glob) inside the project: not empty, not absolute, no ``..``."""
    if not text.strip():
        return "is empty"
    posix, windows = PurePosixPath(text), PureWindowsPath(text)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or text.startswith("\\"):
        return "is an absolute path, it must be relative to the project"
    if ".." in posix.parts or ".." in windows.parts:
        return "leaves the project (`..`), it must be a path inside it"
    return None


def script_name(text: str) -> str | None:
    if _SCRIPT_NAME.fullmatch(text):
        return None
    return "is not a script name (letters, digits, . _ - +)"


def object_reference(text: str) -> str | None:
    if _OBJECT_REFERENCE.match(text):
        return None
    return "is not an object reference (such as 'package.module:function')"


def url(text: str) -> str | None:
    if not text.strip() or any(c.isspace() for c in text):
        return "is not a URL or path (it is empty or has spaces)"
    return None


# --- pyproject.toml --------------------------------------------------------

_REQUIREMENT = Str(requirement)
_REQUIREMENTS = Array(_REQUIREMENT)
_STRINGS = Array(Str())
_FILE = Str(relative_path)
_NAMED = Str(package_name)

# A [tool.uv.sources] entry (uv's `Source`): uvdock reads where it points.
_SOURCE = Table(
    {
        "git": Str(url), "url": Str(url), "path": Str(), "index": Str(), "workspace": Bool(),
        "editable": Bool(), "package": Bool(), "lfs": Bool(), "subdirectory": Str(),
        "rev": Str(), "tag": Str(), "branch": Str(), "marker": Str(), "extra": Str(),
        "group": Str(),
    }
)  # fmt: skip

_CONFLICT_ITEM = Table({"package": Str(), "extra": Str(), "group": Str()})

# [tool.uv] in pyproject.toml, and the top level of uv.toml: the settings uvdock reads.
UV_SETTINGS = Table(
    {
        "package": Bool(),
        "required-version": Str(),
        "default-groups": Either((Str(), _STRINGS)),
        "dev-dependencies": _REQUIREMENTS,
        "sources": Table(values=Either((_SOURCE, Array(_SOURCE)))),
        "index": Array(
            Table(
                {
                    "name": Str(package_name), "url": Str(url), "explicit": Bool(),
                    "default": Bool(), "authenticate": Str(),
                },
                required=frozenset({"url"}),
            )
        ),
        "workspace": Table({"members": Array(Str()), "exclude": Array(Str())}),
        "conflicts": Array(Array(_CONFLICT_ITEM)),
        "environments": Either((Str(), _STRINGS)),
        "required-environments": Either((Str(), _STRINGS)),
        "dependency-groups": Table(values=Table({"requires-python": Str()})),
        "constraint-dependencies": _REQUIREMENTS,
        "override-dependencies": _REQUIREMENTS,
        "build-constraint-dependencies": _REQUIREMENTS,
        "exclude-dependencies": _STRINGS,
        "resolution": Str(), "prerelease": Str(), "fork-strategy": Str(),
        "exclude-newer": Str(),
        "build-backend": Table({"module-root": Str()}),
    }
)  # fmt: skip

_DEPENDENCY_GROUP = Array(Either((_REQUIREMENT, Table({"include-group": Str()}))))

PYPROJECT = Table(
    {
        "project": Table(
            {
                "name": _NAMED,
                "version": Str(),
                "description": Str(multiline=True),
                "readme": Either((_FILE, Table({"file": _FILE, "text": Str(multiline=True),
                                                "content-type": Str()}))),
                "requires-python": Str(specifiers),
                "license": Either((Str(), Table({"file": _FILE, "text": Str(multiline=True)}))),
                "license-files": Array(_FILE),
                "dependencies": _REQUIREMENTS,
                "optional-dependencies": Table(values=_REQUIREMENTS, key_grammar=package_name),
                "scripts": Table(values=Str(object_reference), key_grammar=script_name),
                "gui-scripts": Table(values=Str(object_reference), key_grammar=script_name),
                "urls": Table(values=Str()),
                "dynamic": _STRINGS,
            }
        ),
        "build-system": Table(
            {"requires": _REQUIREMENTS, "build-backend": Str(), "backend-path": Array(_FILE)}
        ),
        "dependency-groups": Table(values=_DEPENDENCY_GROUP, key_grammar=package_name),
        "tool": Table(
            {
                "uv": UV_SETTINGS,
                "uvdock": Table(),  # its keys are checked by uvdock.config
                "fastapi": Table({"entrypoint": Str()}),
                "setuptools": Table({
                    "package-dir": Table(values=Str()),
                    "packages": Either((_STRINGS, Table({"find": Table({"where": _STRINGS})}))),
                }),
                "hatch": Table({"build": Table({"targets": Table({"wheel": Table({
                    "packages": _STRINGS,
                    "sources": Either((_STRINGS, Table(values=Str()))),
                })})})}),
                "pdm": Table({"build": Table({"package-dir": Str()})}),
                "poetry": Table({"packages": Array(Table({"include": Str(), "from": Str()}))}),
            }
        ),
    }
)  # fmt: skip


def _pyproject_hint(keys: tuple[Key, ...]) -> str:
    if keys[:2] == ("tool", "uv"):
        return "fix the value (uv's settings: https://docs.astral.sh/uv/reference/settings/)"
    return (
        "fix the value (the specification: "
        "https://packaging.python.org/en/latest/specifications/pyproject-toml/)"
    )


def _uv_toml_hint(keys: tuple[Key, ...]) -> str:
    return _pyproject_hint(("tool", "uv", *keys))


def _lock_hint(keys: tuple[Key, ...]) -> str:
    if keys == ("version",):
        return "run `uv lock` with the uv the project uses, or update uvdock"
    return "regenerate it with `uv lock` (with the uv the project uses)"


def read_pyproject(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed ``pyproject.toml`` at ``path`` and its text; checked against ``PYPROJECT``."""
    text = read_text(path, limit=MANIFEST_LIMIT)
    data = parse_toml(text, path)
    check(data, PYPROJECT, path=path, text=text, hint=_pyproject_hint)
    return data, text


def read_uv_toml(path: Path) -> dict[str, Any]:
    text = read_text(path, limit=MANIFEST_LIMIT)
    data = parse_toml(text, path)
    check(data, UV_SETTINGS, path=path, text=text, hint=_uv_toml_hint)
    return data


# --- uv.lock ---------------------------------------------------------------

# The lock format version this uvdock reads (uv's `VERSION` in uv-resolver's lock.rs).
LOCK_VERSION = 1


def _lock_version(version: int) -> str | None:
    if version == LOCK_VERSION:
        return None
    return (
        f"is {version}: this uv.lock was written by a uv that uvdock does not know "
        f"(uvdock reads version {LOCK_VERSION})"
    )


def _not_negative(number: int) -> str | None:
    return None if number >= 0 else f"is {number}: it cannot be negative"


_LOCK_SOURCE = Table(values=Str())
_LOCK_DEPENDENCY = Table(
    {"name": _NAMED, "version": Str(), "source": _LOCK_SOURCE, "marker": Str(), "extra": _STRINGS},
    required=frozenset({"name"}),
)
_LOCK_DEPENDENCIES = Array(_LOCK_DEPENDENCY)
# A requirement as uv.lock records it (`Requirement` in uv-pypi-types).
_LOCK_REQUIREMENT = Table(
    {
        "name": _NAMED, "specifier": Str(), "marker": Str(), "extras": _STRINGS,
        "url": Str(), "path": Str(), "editable": Str(), "directory": Str(), "virtual": Str(),
        "git": Str(), "index": Str(), "subdirectory": Str(),
    },
    required=frozenset({"name"}),
)  # fmt: skip
_LOCK_REQUIREMENTS = Array(_LOCK_REQUIREMENT)
_LOCK_FILE = Table({"url": Str(), "path": Str(), "filename": Str(), "hash": Str(), "size": Int()})

LOCK = Table(
    {
        "version": Int(_lock_version),
        "revision": Int(_not_negative),
        "requires-python": Str(),
        "supported-markers": _STRINGS,
        "required-markers": _STRINGS,
        "resolution-markers": _STRINGS,
        "conflicts": Array(Array(_CONFLICT_ITEM)),
        "options": Table({
            "resolution-mode": Str(), "prerelease-mode": Str(), "fork-strategy": Str(),
            "exclude-newer": Str(),
        }),
        "manifest": Table({
            "members": _STRINGS,
            "requirements": _LOCK_REQUIREMENTS,
            "constraints": _LOCK_REQUIREMENTS,
            "overrides": _LOCK_REQUIREMENTS,
            "build-constraints": _LOCK_REQUIREMENTS,
            "excludes": _STRINGS,
            "dependency-groups": Table(values=_LOCK_REQUIREMENTS),
            "default-groups": Either((Str(), _STRINGS)),
        }),
        "package": Array(Table(
            {
                "name": _NAMED,
                "version": Str(),
                "source": _LOCK_SOURCE,
                "dependencies": _LOCK_DEPENDENCIES,
                "optional-dependencies": Table(values=_LOCK_DEPENDENCIES),
                "dev-dependencies": Table(values=_LOCK_DEPENDENCIES),
                "sdist": _LOCK_FILE,
                "wheels": Array(_LOCK_FILE),
                "default-groups": Either((Str(), _STRINGS)),
                "metadata": Table({
                    "requires-dist": _LOCK_REQUIREMENTS,
                    "requires-dev": Table(values=_LOCK_REQUIREMENTS),
                    "dependency-groups": Table(values=_LOCK_REQUIREMENTS),
                    "provides-extras": _STRINGS,
                }),
            },
            required=frozenset({"name"}),
        )),
    },
    required=frozenset({"version"}),
)  # fmt: skip


def read_lock(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed ``uv.lock`` at ``path`` and its text; checked against ``LOCK``."""
    text = read_text(path, limit=MANIFEST_LIMIT)
    data = parse_toml(text, path)
    check(data, LOCK, path=path, text=text, hint=_lock_hint)
    return data, text
