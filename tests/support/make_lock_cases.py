"""Regenerate ``tests/fixtures/locks/``: uv.lock freshness cases, each checked by uv itself.

Every case is a small project written here (an ``app``, sometimes workspace
members, local path packages, a local wheel index ``wheels/``, an in-tree build
backend for dynamic metadata), locked by a uv release, then edited the way a
user would edit it. The edited files and the lock from before the edit go to
``tests/fixtures/locks/<case>/`` with a one-line ``CASE.md``.
``tests/unit/test_freshness.py`` runs uvdock's check and the real
``uv lock --check`` on each case and wants the same verdict.

Locks are written by the ``uv`` on PATH unless a case names an older release:
those are installed from PyPI into throwaway virtual environments under
``$XDG_CACHE_HOME/uvdock-lock-cases`` (so this script needs the network; the
tests do not). Which release writes which lock format::

    uv 0.4.30, 0.5.0, 0.5.31             version = 1, no revision
    uv 0.6.0                             revision = 1 (provides-extras, empty groups)
    uv 0.6.17, 0.7.0, 0.8.0              revision = 2 (upload times)
    uv 0.9.0, 0.10.0, 0.11.0, 0.12.0     revision = 3 (per-package exclude-newer)
    uv 0.13.9                            revision = 5 (default groups, group metadata)

(the releases tried; the cases use 0.4.30, 0.6.0, 0.7.0 and 0.10.0).

The git cases lock against ``tests.support.git_server`` (started here, on
127.0.0.1:5012). Usage, from the repository root::

    python -m tests.support.make_lock_cases            # rebuild every case
    python -m tests.support.make_lock_cases NAME...    # rebuild some
    python -m tests.support.make_lock_cases --verdicts # uv's verdict on the committed cases
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support._uv import find_python, uv_executable
from tests.support.git_server import GitHTTPServer, create_greeting_git_repo
from tests.support.paths import FIXTURES_DIR

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

__all__ = ["CASES", "LOCKS_DIR", "Case", "main", "uv_verdict"]

LOCKS_DIR = FIXTURES_DIR / "locks"
UV_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "uvdock-lock-cases"


@dataclasses.dataclass(frozen=True)
class Case:
    """A project locked by ``uv`` (a release, or the one on PATH), then edited."""

    name: str
    what: str
    files: Mapping[str, str]
    changes: Mapping[str, str | None] = dataclasses.field(default_factory=dict)
    uv: str | None = None
    python: str = "3.12"
    git: bool = False  # needs tests.support.git_server to lock (and, if stale, to check)


# --- building blocks ---------------------------------------------------------------------


def app(
    *,
    requires_python: str = ">=3.10",
    dependencies: Sequence[str] = (),
    extra: str = "",
    version: str = "0.1.0",
    name: str = "app",
    dynamic: Sequence[str] = (),
    wheels: bool = False,
    package: bool = False,
) -> str:
    """The ``pyproject.toml`` of the project under test."""
    text = f'[project]\nname = "{name}"\n'
    if "version" not in dynamic:
        text += f'version = "{version}"\n'
    if dynamic:
        text += f"dynamic = [{', '.join(repr(d).replace(chr(39), chr(34)) for d in dynamic)}]\n"
    text += f'requires-python = "{requires_python}"\n'
    if "dependencies" not in dynamic:
        text += "dependencies = [\n" + "".join(f'    "{d}",\n' for d in dependencies) + "]\n"
    if extra:
        text += f"\n{extra.strip()}\n"
    if wheels:
        text += WHEELS_INDEX
    if package:
        text += '\n[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    return text


def library(
    name: str = "lib", *, version: str = "1.0.0", dependencies: Sequence[str] = ()
) -> dict[str, str]:
    """A local path package: a ``pyproject.toml`` and one module."""
    deps = "".join(f'    "{d}",\n' for d in dependencies)
    module = name.replace("-", "_")
    return {
        "pyproject.toml": (
            f'[project]\nname = "{name}"\nversion = "{version}"\nrequires-python = ">=3.9"\n'
            f"dependencies = [\n{deps}]\n\n"
            '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        ),
        f"{module}/__init__.py": f'"""The {name} fixture package."""\n',
    }


def under(prefix: str, files: Mapping[str, str]) -> dict[str, str]:
    return {f"{prefix}/{path}": text for path, text in files.items()}


BACKEND = '''"""A PEP 517 backend with no build requirements, so uv can build these cases offline.

The version comes from ``VERSION`` when ``project.version`` is dynamic, the
dependencies from ``DEPENDENCIES`` (one per line) when they are.
"""

import base64
import hashlib
import os
import tomllib
import zipfile


def _metadata():
    with open("pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    dynamic = project.get("dynamic", [])
    with open("VERSION" if "version" in dynamic else os.devnull) as f:
        version = f.read().strip() or project.get("version")
    deps = project.get("dependencies", [])
    if "dependencies" in dynamic:
        with open("DEPENDENCIES") as f:
            deps = [line.strip() for line in f if line.strip()]
    lines = ["Metadata-Version: 2.2", f"Name: {project['name']}", f"Version: {version}"]
    lines += [f"Requires-Dist: {dep}" for dep in deps]
    for extra, reqs in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f"Requires-Dist: {req}; extra == '{extra}'" for req in reqs]
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    return project["name"].replace("-", "_"), version, "\\n".join(lines) + "\\n"


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_wheel


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name, version, metadata = _metadata()
    dist_info = f"{name}-{version}.dist-info"
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    with open(os.path.join(metadata_directory, dist_info, "METADATA"), "w") as f:
        f.write(metadata)
    return dist_info


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, version, metadata = _metadata()
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: case_backend\\n"
        "Root-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist_info}/RECORD"] = "\\n".join([*record, f"{dist_info}/RECORD,,"]) + "\\n"
    filename = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as whl:
        for path, text in files.items():
            whl.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), text)
    return filename


build_editable = build_wheel
'''

IN_TREE_BACKEND = (
    '\n[build-system]\nrequires = []\nbuild-backend = "case_backend"\nbackend-path = ["_backend"]\n'
)

#: Tiny wheels the cases' local flat index serves (``wheels/``): name, version, requirements.
WHEELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("greet", "1.0.0", ()),
    ("greet", "1.1.0", ()),
    ("shout", "2.0.0", ("greet>=1",)),
)


def wheel_bytes(name: str, version: str, requires: Sequence[str]) -> bytes:
    """A reproducible pure-Python wheel (fixed timestamps, sorted members)."""
    dist_info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{name}/__init__.py": f'"""{name} {version}, a uvdock test wheel."""\n',
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: make_lock_cases\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    out = tempfile.SpooledTemporaryFile()  # noqa: SIM115 (returned as bytes below)
    with zipfile.ZipFile(out, "w") as archive:
        for path, text in files.items():
            archive.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), text)
    out.seek(0)
    return out.read()


LIB = under("lib", library())
CONFLICTS = (
    '[project.optional-dependencies]\nold = ["greet==1.0.0"]\nnew = ["greet==1.1.0"]\n\n'
    '[tool.uv]\nconflicts = [[{ extra = "old" }, { extra = "new" }]]\n\n'
)
EXCLUDE_NEWER = '\n\n[tool.uv]\nexclude-newer = "2025-06-01T00:00:00Z"'
LIB_SOURCE = '[tool.uv.sources]\nlib = { path = "lib" }'
EMPTY_EXTRA = "[project.optional-dependencies]\nfast = []\n\n"
WHEELS_INDEX = '\n[[tool.uv.index]]\nname = "wheels"\nurl = "./wheels"\nformat = "flat"\n'
BACKEND_FILES = {"_backend/case_backend.py": BACKEND}
GIT_URL = "http://127.0.0.1:5012/greeting-git.git"
GROUPS = '[dependency-groups]\nlint = ["greet"]\ntest = [{ include-group = "lint" }, "shout"]\n'


def rp(name: str, what: str, before: str, after: str | None = None, python: str = "3.12") -> Case:
    """A requires-python case: locked with ``before``, then changed to ``after``."""
    changes = {"pyproject.toml": app(requires_python=after)} if after else {}
    return Case(name, what, {"pyproject.toml": app(requires_python=before)}, changes, python=python)


def wheels_app(deps: Sequence[str], extra: str = "") -> str:
    return app(dependencies=deps, extra=extra, wheels=True)


WS_ROOT = 'members = ["packages/*"]'


def workspace_root(*, project: bool = True, extra: str = "", members: str = WS_ROOT) -> str:
    head = app(dependencies=["api"], wheels=True) if project else ""
    sources = "\n[tool.uv.sources]\napi = { workspace = true }\n" if project else ""
    return f"{head}{sources}\n[tool.uv.workspace]\n{members}\n{extra}".lstrip("\n")


def member(name: str, deps: Sequence[str] = (), requires_python: str = ">=3.10") -> dict[str, str]:
    files = library(name, version="0.1.0", dependencies=deps)
    files["pyproject.toml"] = files["pyproject.toml"].replace(">=3.9", requires_python)
    return under(f"packages/{name}", files)


CASES: tuple[Case, ...] = (
    # -- requires-python in every usual form (RequiresPython::range is what uv compares)
    rp(
        "rp-range-locked-as-eq-star",
        "requires-python >=3.12,<3.13, which uv writes as ==3.12.*",
        ">=3.12,<3.13",
    ),
    rp(
        "rp-eq-star-rewritten-as-range",
        "==3.12.* rewritten as >=3.12.0,<3.13: the same range",
        "==3.12.*",
        ">=3.12.0,<3.13",
    ),
    rp("rp-lower-bound-raised", "lower bound >=3.11 raised to >=3.12", ">=3.11", ">=3.12"),
    rp("rp-compatible-release", "~=3.11 (locked as >=3.11, <4)", "~=3.11"),
    rp(
        "rp-compatible-release-dropped",
        "~=3.11 replaced by >=3.11: the upper bound <4 is gone",
        "~=3.11",
        ">=3.11",
    ),
    rp(
        "rp-compatible-patch-as-range",
        "~=3.12.0 rewritten as >=3.12,<3.13: the same range",
        "~=3.12.0",
        ">=3.12,<3.13",
    ),
    rp(
        "rp-exclusion-added",
        ">=3.10 changed to >=3.10,!=3.11.*: uv compares only the bounding range",
        ">=3.10",
        ">=3.10,!=3.11.*",
    ),
    rp("rp-greater-than", "an exclusive lower bound >3.9", ">3.9"),
    rp("rp-greater-than-to-ge", ">3.9 changed to >=3.10: different lower bounds", ">3.9", ">=3.10"),
    rp(
        "rp-trailing-zero",
        ">=3.10 rewritten as >=3.10.0: trailing zeros do not count",
        ">=3.10",
        ">=3.10.0",
    ),
    rp(
        "rp-patch-lower-bound-raised",
        "patch lower bound >=3.11.1 raised to >=3.11.2",
        ">=3.11.1",
        ">=3.11.2",
    ),
    rp("rp-exact-patch", "an exact requires-python ==3.12.1", "==3.12.1"),
    rp(
        "rp-patch-upper-bound-changed",
        "upper bound on a patch <3.12.5 moved to <3.12.6",
        ">=3.10,<3.12.5",
        ">=3.10,<3.12.6",
    ),
    rp("rp-upper-bound-added", "no upper bound, then <4 added", ">=3.10", ">=3.10,<4"),
    rp(
        "rp-le-is-not-lt-next",
        "<3.13 changed to <=3.12, which excludes 3.12.1",
        ">=3.10,<3.13",
        ">=3.10,<=3.12",
        "3.11",
    ),
    Case(
        "rp-workspace-intersection",
        "workspace requires-python is the intersection of the members' (>=3.10 and >=3.11)",
        {"pyproject.toml": workspace_root(), **member("api", requires_python=">=3.11")},
    ),
    Case(
        "rp-workspace-member-lowered",
        "a member's requires-python lowered, so the workspace's intersection changes",
        {"pyproject.toml": workspace_root(), **member("api", requires_python=">=3.11")},
        {
            "packages/api/pyproject.toml": member("api", requires_python=">=3.10")[
                "packages/api/pyproject.toml"
            ]
        },
    ),
    # -- dependencies (registry requirements from the local wheel index)
    Case(
        "dep-added",
        "a dependency added",
        {"pyproject.toml": wheels_app(["greet>=1.0"])},
        {"pyproject.toml": wheels_app(["greet>=1.0", "shout"])},
    ),
    Case(
        "dep-removed",
        "a dependency removed",
        {"pyproject.toml": wheels_app(["greet", "shout"])},
        {"pyproject.toml": wheels_app(["greet"])},
    ),
    Case(
        "dep-specifier-equivalent",
        "specifiers reordered and padded (>=1.0,<2 as <2.0,>=1): the same versions",
        {"pyproject.toml": wheels_app(["greet>=1.0,<2"])},
        {"pyproject.toml": wheels_app(["greet<2.0,>=1"])},
    ),
    Case(
        "dep-specifier-changed",
        "a version specifier changed",
        {"pyproject.toml": wheels_app(["greet>=1.0"])},
        {"pyproject.toml": wheels_app(["greet>=1.1"])},
    ),
    Case(
        "dep-marker-added",
        "a marker added to a dependency",
        {"pyproject.toml": wheels_app(["greet"])},
        {"pyproject.toml": wheels_app(["greet; sys_platform == 'linux'"])},
    ),
    Case(
        "dep-marker-implied-by-requires-python",
        "a marker that requires-python already implies (python_version >= '3.8' under >=3.10)",
        {"pyproject.toml": wheels_app(["greet"])},
        {"pyproject.toml": wheels_app(["greet; python_version >= '3.8'"])},
    ),
    Case(
        "dep-marker-respelled",
        "python_version < '3.13' respelled python_full_version < '3.13' (uv locks the latter)",
        {"pyproject.toml": wheels_app(["greet; python_version < '3.13'"])},
        {"pyproject.toml": wheels_app(["greet; python_full_version < '3.13'"])},
    ),
    Case(
        "dep-path-specifier-ignored",
        "the version specifier of a path dependency changed: a local source drops it",
        {
            "pyproject.toml": app(
                dependencies=["lib>=1.0"], extra='[tool.uv.sources]\nlib = { path = "lib" }'
            ),
            **LIB,
        },
        {
            "pyproject.toml": app(
                dependencies=["lib>=2.0"], extra='[tool.uv.sources]\nlib = { path = "lib" }'
            )
        },
    ),
    # -- extras
    Case(
        "extra-added",
        "an optional-dependencies extra added",
        {"pyproject.toml": wheels_app(["greet"])},
        {
            "pyproject.toml": wheels_app(
                ["greet"], '[project.optional-dependencies]\nloud = ["shout"]'
            )
        },
    ),
    Case(
        "extra-removed",
        "an optional-dependencies extra removed",
        {
            "pyproject.toml": wheels_app(
                ["greet"], '[project.optional-dependencies]\nloud = ["shout"]'
            )
        },
        {"pyproject.toml": wheels_app(["greet"])},
    ),
    Case(
        "extra-empty-added",
        "an empty extra added: provides-extras changes (lock revision 5)",
        {
            "pyproject.toml": app(
                dependencies=["lib"], extra='[tool.uv.sources]\nlib = { path = "lib" }'
            ),
            **LIB,
        },
        {
            "pyproject.toml": app(
                dependencies=["lib"],
                extra=EMPTY_EXTRA + LIB_SOURCE,
            )
        },
    ),
    Case(
        "extra-empty-added-lock-v1",
        "an empty extra added under a lock from uv 0.4.30 (no revision, no provides-extras)",
        {
            "pyproject.toml": app(
                dependencies=["lib"], extra='[tool.uv.sources]\nlib = { path = "lib" }'
            ),
            **LIB,
        },
        {
            "pyproject.toml": app(
                dependencies=["lib"],
                extra=EMPTY_EXTRA + LIB_SOURCE,
            )
        },
        uv="0.4.30",
    ),
    # -- dependency groups
    Case(
        "group-changed",
        "a dependency group gained a requirement",
        {"pyproject.toml": wheels_app([], '[dependency-groups]\ndev = ["greet"]')},
        {"pyproject.toml": wheels_app([], '[dependency-groups]\ndev = ["greet", "shout"]')},
    ),
    Case(
        "group-include-inlined",
        "include-group replaced by the requirements it includes: the same flattened group",
        {"pyproject.toml": wheels_app([], GROUPS)},
        {
            "pyproject.toml": wheels_app(
                [], '[dependency-groups]\nlint = ["greet"]\ntest = ["greet", "shout"]\n'
            )
        },
    ),
    Case(
        "group-included-changed",
        "a group that another includes changed (both change)",
        {"pyproject.toml": wheels_app([], GROUPS)},
        {
            "pyproject.toml": wheels_app(
                [], GROUPS.replace('lint = ["greet"]', 'lint = ["greet>=1.1"]')
            )
        },
    ),
    Case(
        "legacy-dev-dependencies-moved",
        "[tool.uv] dev-dependencies moved to [dependency-groups] dev: the same group",
        {"pyproject.toml": wheels_app([], '[tool.uv]\ndev-dependencies = ["greet"]')},
        {"pyproject.toml": wheels_app([], '[dependency-groups]\ndev = ["greet"]')},
    ),
    Case(
        "legacy-dev-dependencies-changed",
        "[tool.uv] dev-dependencies gained a requirement",
        {"pyproject.toml": wheels_app([], '[tool.uv]\ndev-dependencies = ["greet"]')},
        {"pyproject.toml": wheels_app([], '[tool.uv]\ndev-dependencies = ["greet", "shout"]')},
    ),
    Case(
        "default-groups-changed",
        "[tool.uv] default-groups changed: recorded since lock revision 5",
        {"pyproject.toml": wheels_app([], GROUPS + '\n[tool.uv]\ndefault-groups = ["lint"]')},
        {
            "pyproject.toml": wheels_app(
                [], GROUPS + '\n[tool.uv]\ndefault-groups = ["lint", "test"]'
            )
        },
    ),
    Case(
        "default-groups-changed-lock-rev3",
        "default-groups changed under a lock from uv 0.10.0 (revision 3, which has none)",
        {"pyproject.toml": wheels_app([], GROUPS + '\n[tool.uv]\ndefault-groups = ["lint"]')},
        {
            "pyproject.toml": wheels_app(
                [], GROUPS + '\n[tool.uv]\ndefault-groups = ["lint", "test"]'
            )
        },
        uv="0.10.0",
    ),
    # -- sources
    Case(
        "source-path-made-editable",
        "a path source made editable",
        {
            "pyproject.toml": app(
                dependencies=["lib"], extra='[tool.uv.sources]\nlib = { path = "lib" }'
            ),
            **LIB,
        },
        {
            "pyproject.toml": app(
                dependencies=["lib"],
                extra='[tool.uv.sources]\nlib = { path = "lib", editable = true }',
            )
        },
    ),
    Case(
        "source-path-moved",
        "a path source pointed at another directory",
        {
            "pyproject.toml": app(
                dependencies=["lib"], extra='[tool.uv.sources]\nlib = { path = "libs/lib" }'
            ),
            **under("libs/lib", library()),
        },
        {
            "pyproject.toml": app(
                dependencies=["lib"], extra='[tool.uv.sources]\nlib = { path = "vendor/lib" }'
            ),
            **under("vendor/lib", library()),
            **{f"libs/lib/{p}": None for p in library()},
        },
    ),
    Case(
        "source-path-added",
        "a registry dependency switched to a local path source",
        {
            "pyproject.toml": wheels_app(["greet"]),
            **under("greet-src", library("greet", version="1.5.0")),
        },
        {
            "pyproject.toml": wheels_app(
                ["greet"], '[tool.uv.sources]\ngreet = { path = "greet-src" }'
            )
        },
    ),
    Case(
        "source-index-added",
        "a dependency pinned to its index with [tool.uv.sources] { index = ... }",
        {"pyproject.toml": wheels_app(["greet"])},
        {
            "pyproject.toml": wheels_app(
                ["greet"], '[tool.uv.sources]\ngreet = { index = "wheels" }'
            )
        },
    ),
    Case(
        "source-git-unchanged",
        "a git source (tag), unchanged: git packages are immutable, nothing is fetched",
        {
            "pyproject.toml": app(
                dependencies=["greeting-git"],
                extra=f'[tool.uv.sources]\ngreeting-git = {{ git = "{GIT_URL}", tag = "v0.1.0" }}',
            )
        },
        git=True,
    ),
    Case(
        "source-git-tag-to-branch",
        "a git source switched from a tag to a branch",
        {
            "pyproject.toml": app(
                dependencies=["greeting-git"],
                extra=f'[tool.uv.sources]\ngreeting-git = {{ git = "{GIT_URL}", tag = "v0.1.0" }}',
            )
        },
        {
            "pyproject.toml": app(
                dependencies=["greeting-git"],
                extra=f'[tool.uv.sources]\ngreeting-git = {{ git = "{GIT_URL}", branch = "main" }}',
            )
        },
        git=True,
    ),
    # -- workspaces
    Case(
        "workspace-unchanged",
        "a workspace: root project and a member it depends on, unchanged",
        {"pyproject.toml": workspace_root(), **member("api", ["greet"])},
    ),
    Case(
        "workspace-member-added",
        "a new directory matches [tool.uv.workspace] members",
        {"pyproject.toml": workspace_root(), **member("api")},
        member("worker"),
    ),
    Case(
        "workspace-member-removed",
        "a member directory deleted",
        {"pyproject.toml": workspace_root(), **member("api"), **member("worker")},
        dict.fromkeys(member("worker")),
    ),
    Case(
        "workspace-member-dependency-changed",
        "a member's dependency added",
        {"pyproject.toml": workspace_root(), **member("api", ["greet"])},
        {
            "packages/api/pyproject.toml": member("api", ["greet", "shout"])[
                "packages/api/pyproject.toml"
            ]
        },
    ),
    Case(
        "workspace-virtual-root",
        "a virtual workspace root (no [project]) with its own dependency group, unchanged",
        {
            "pyproject.toml": workspace_root(
                project=False,
                extra='[dependency-groups]\ndev = ["greet"]\n' + WHEELS_INDEX,
            ),
            **member("api", ["greet"]),
            **member("worker", ["api"]),
            "packages/worker/pyproject.toml": member("worker", ["api"])[
                "packages/worker/pyproject.toml"
            ]
            + "\n[tool.uv.sources]\napi = { workspace = true }\n",
        },
    ),
    Case(
        "workspace-virtual-root-group-changed",
        "the dependency group of a virtual workspace root changed ([manifest] dependency-groups)",
        {
            "pyproject.toml": workspace_root(
                project=False,
                extra='[dependency-groups]\ndev = ["greet"]\n' + WHEELS_INDEX,
            ),
            **member("api"),
        },
        {
            "pyproject.toml": workspace_root(
                project=False,
                extra='[dependency-groups]\ndev = ["greet", "shout"]\n' + WHEELS_INDEX,
            )
        },
    ),
    # -- versions and dynamic metadata
    Case(
        "dynamic-version-bumped",
        "a dynamic version bumped: uv records no version for it, so nothing to compare",
        {
            "pyproject.toml": app(dynamic=["version"]) + IN_TREE_BACKEND,
            "VERSION": "0.1.0\n",
            **BACKEND_FILES,
        },
        {"VERSION": "0.2.0\n"},
    ),
    Case(
        "dynamic-version-made-static",
        "a dynamic version made static",
        {
            "pyproject.toml": app(dynamic=["version"]) + IN_TREE_BACKEND,
            "VERSION": "0.1.0\n",
            **BACKEND_FILES,
        },
        {"pyproject.toml": app() + IN_TREE_BACKEND},
    ),
    Case(
        "static-version-made-dynamic",
        "a static version made dynamic",
        {"pyproject.toml": app() + IN_TREE_BACKEND, "VERSION": "0.1.0\n", **BACKEND_FILES},
        {"pyproject.toml": app(dynamic=["version"]) + IN_TREE_BACKEND},
    ),
    Case(
        "dynamic-dependencies",
        "dependencies = dynamic: only a build tells (uvdock cannot)",
        {
            "pyproject.toml": app(dynamic=["version", "dependencies"], wheels=True)
            + IN_TREE_BACKEND,
            "VERSION": "0.1.0\n",
            "DEPENDENCIES": "greet\n",
            **BACKEND_FILES,
        },
    ),
    Case(
        "static-version-bumped",
        "the static project version bumped",
        {"pyproject.toml": app()},
        {"pyproject.toml": app(version="0.2.0")},
    ),
    Case(
        "static-version-trailing-zero",
        "the version 1.0 rewritten 1.0.0: the same version",
        {"pyproject.toml": app(version="1.0")},
        {"pyproject.toml": app(version="1.0.0")},
    ),
    # -- locks written by older uv releases
    Case(
        "lock-v1-no-revision",
        "a lock from uv 0.4.30 (version = 1, no revision), unchanged",
        {
            "pyproject.toml": app(
                dependencies=["lib"],
                extra='[dependency-groups]\ndev = []\n\n[tool.uv.sources]\nlib = { path = "lib" }',
            ),
            **LIB,
        },
        uv="0.4.30",
    ),
    Case(
        "lock-revision-1",
        "a lock from uv 0.6.0 (revision 1), unchanged",
        {
            "pyproject.toml": app(
                dependencies=["lib"],
                extra=EMPTY_EXTRA + LIB_SOURCE,
            ),
            **LIB,
        },
        uv="0.6.0",
    ),
    Case(
        "lock-revision-2",
        "a lock from uv 0.7.0 (revision 2), unchanged",
        {
            "pyproject.toml": app(
                requires_python=">=3.12,<3.13",
                dependencies=["lib"],
                extra='[tool.uv.sources]\nlib = { path = "lib" }',
            ),
            **LIB,
        },
        uv="0.7.0",
    ),
    Case(
        "lock-revision-2-dependency-added",
        "a lock from uv 0.7.0 (revision 2), then a dependency added",
        {
            "pyproject.toml": app(
                dependencies=["lib"], extra='[tool.uv.sources]\nlib = { path = "lib" }'
            ),
            **LIB,
            **under("extra-lib", library("extra-lib")),
        },
        {
            "pyproject.toml": app(
                dependencies=["lib", "extra-lib"],
                extra=LIB_SOURCE + '\nextra-lib = { path = "extra-lib" }',
            )
        },
        uv="0.7.0",
    ),
    Case(
        "lock-revision-3",
        "a lock from uv 0.10.0 (revision 3), unchanged",
        {"pyproject.toml": wheels_app(["greet>=1.0"], GROUPS)},
        uv="0.10.0",
    ),
    # -- more that uv checks
    Case(
        "project-renamed",
        "the project renamed",
        {"pyproject.toml": app()},
        {"pyproject.toml": app(name="application")},
    ),
    Case(
        "build-system-removed",
        "[build-system] removed: the project becomes virtual",
        {"pyproject.toml": app(package=True)},
        {"pyproject.toml": app()},
    ),
    Case(
        "constraint-added",
        "[tool.uv] constraint-dependencies on a locked package added",
        {"pyproject.toml": wheels_app(["greet"])},
        {
            "pyproject.toml": wheels_app(
                ["greet"], '[tool.uv]\nconstraint-dependencies = ["greet<1.1"]'
            )
        },
    ),
    Case(
        "constraint-on-unlocked-package",
        "a constraint on a package the lock does not have: uv ignores it until the next resolution",
        {"pyproject.toml": wheels_app(["greet"])},
        {
            "pyproject.toml": wheels_app(
                ["greet"], '[tool.uv]\nconstraint-dependencies = ["unused<2"]'
            )
        },
    ),
    Case(
        "conflicts-unchanged",
        "[tool.uv] conflicts between two extras, unchanged",
        {"pyproject.toml": wheels_app(["lib"], CONFLICTS + LIB_SOURCE), **LIB},
    ),
    Case(
        "conflicts-changed",
        "[tool.uv] conflicts gained a set",
        {"pyproject.toml": wheels_app(["lib"], CONFLICTS + LIB_SOURCE), **LIB},
        {
            "pyproject.toml": wheels_app(
                ["lib"],
                CONFLICTS.replace("]]", '], [{ extra = "old" }, { extra = "new" }]]') + LIB_SOURCE,
            )
        },
    ),
    Case(
        "exclude-newer-moved-later",
        "[tool.uv] exclude-newer moved later: every locked file is still allowed",
        {"pyproject.toml": app(dependencies=["lib"], extra=LIB_SOURCE + EXCLUDE_NEWER), **LIB},
        {
            "pyproject.toml": app(
                dependencies=["lib"], extra=LIB_SOURCE + EXCLUDE_NEWER.replace("2025", "2026")
            )
        },
    ),
    Case(
        "exclude-newer-moved-earlier",
        "[tool.uv] exclude-newer moved earlier",
        {"pyproject.toml": app(dependencies=["lib"], extra=LIB_SOURCE + EXCLUDE_NEWER), **LIB},
        {
            "pyproject.toml": app(
                dependencies=["lib"], extra=LIB_SOURCE + EXCLUDE_NEWER.replace("2025", "2024")
            )
        },
    ),
    Case(
        "package-false",
        "[tool.uv] package = false on a project with a build system: it becomes virtual",
        {"pyproject.toml": app(package=True)},
        {"pyproject.toml": app(package=True, extra="[tool.uv]\npackage = false")},
    ),
    Case(
        "workspace-member-not-editable",
        "a member required with { workspace = true, editable = false }",
        {"pyproject.toml": workspace_root(), **member("api")},
        {
            "pyproject.toml": workspace_root().replace(
                "workspace = true", "workspace = true, editable = false"
            )
        },
    ),
    Case(
        "dep-marker-clauses-swapped",
        "the clauses of a marker swapped: the same marker",
        {
            "pyproject.toml": wheels_app(
                ["greet; sys_platform == 'linux' and python_version >= '3.11'"]
            )
        },
        {
            "pyproject.toml": wheels_app(
                ["greet; python_version >= '3.11' and sys_platform == 'linux'"]
            )
        },
    ),
    Case(
        "lock-v1-workspace",
        "a workspace locked by uv 0.4.30 (no revision), unchanged",
        {
            "pyproject.toml": workspace_root().replace(WHEELS_INDEX, ""),
            **member("api"),
            **member("worker"),
        },
        uv="0.4.30",
    ),
    Case(
        "path-package-dependency-changed",
        "a local path package gained a dependency (uv validates local packages too)",
        {"pyproject.toml": wheels_app(["lib"], LIB_SOURCE), **LIB},
        {"lib/pyproject.toml": library(dependencies=["greet"])["pyproject.toml"]},
    ),
    Case(
        "path-package-version-bumped",
        "a local path package's version bumped",
        {"pyproject.toml": app(dependencies=["lib"], extra=LIB_SOURCE), **LIB},
        {"lib/pyproject.toml": library(version="1.1.0")["pyproject.toml"]},
    ),
    Case(
        "source-for-unused-package",
        "a [tool.uv.sources] entry for a package nothing requires: nothing to lower",
        {"pyproject.toml": app(dependencies=["lib"], extra=LIB_SOURCE), **LIB},
        {
            "pyproject.toml": app(
                dependencies=["lib"], extra=LIB_SOURCE + '\nother = { path = "other" }'
            )
        },
    ),
    Case(
        "metadata-only-change",
        "description, scripts and classifiers changed: uv does not lock them",
        {"pyproject.toml": app(dependencies=["lib"], extra=LIB_SOURCE), **LIB},
        {
            "pyproject.toml": app(dependencies=["lib"], extra=LIB_SOURCE).replace(
                'requires-python = ">=3.10"\n',
                'requires-python = ">=3.10"\ndescription = "An app."\n'
                'classifiers = ["Private :: Do Not Upload"]\n',
            )
            + '\n[project.scripts]\napp = "app:main"\n'
        },
    ),
    Case(
        "environments-added",
        "[tool.uv] environments added",
        {"pyproject.toml": wheels_app(["greet"])},
        {
            "pyproject.toml": wheels_app(
                ["greet"], "[tool.uv]\nenvironments = [\"sys_platform == 'linux'\"]"
            )
        },
    ),
)


# --- running uv ---------------------------------------------------------------------------


def uv_release(version: str) -> str:
    """The ``uv`` executable of release ``version``, installed from PyPI into a cached venv."""
    venv = UV_CACHE / f"uv-{version}"
    executable = venv / "bin" / "uv"
    if not executable.is_file():
        shutil.rmtree(venv, ignore_errors=True)
        uv = uv_executable()
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                str(venv / "bin" / "python"),
                f"uv=={version}",
            ],
            check=True,
        )
    return str(executable)


def uv_env(cache: Path) -> dict[str, str]:
    """uv's environment here: no downloads, no user configuration, its own cache.

    Not ``UV_NO_CONFIG``: that also ignores ``[tool.uv]`` in the project's own
    ``pyproject.toml``. A user's ``uv.toml`` is hidden by pointing
    ``XDG_CONFIG_HOME`` into the (empty) cache directory instead.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update(
        UV_CACHE_DIR=str(cache), UV_PYTHON_DOWNLOADS="never", XDG_CONFIG_HOME=str(cache / "config")
    )
    return env


def uv_verdict(
    project: Path, *, python: str, cache: Path, offline: bool = True, uv: str | None = None
) -> tuple[str, str]:
    """``uv lock --check`` on ``project``: ("fresh" | "stale" | "error", uv's output)."""
    argv = [uv or uv_executable(), "lock", "--check", "--python", python]
    argv += ["--offline"] if offline else []
    done = subprocess.run(
        argv, cwd=project, env=uv_env(cache), capture_output=True, text=True, check=False
    )
    output = done.stdout + done.stderr
    if done.returncode == 0:
        return "fresh", output
    if "needs to be updated" in output:
        return "stale", output
    return "error", output


def write_files(root: Path, files: Mapping[str, str | None]) -> None:
    for relative, text in files.items():
        path = root / relative
        if text is None:
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                path.parent.rmdir()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def uses_wheels(case: Case) -> bool:
    return any(t and "./wheels" in t for t in (*case.files.values(), *case.changes.values()))


@contextlib.contextmanager
def git_server() -> Iterator[None]:
    with tempfile.TemporaryDirectory() as repos:
        create_greeting_git_repo(Path(repos))
        with GitHTTPServer(Path(repos)):
            yield


def build(case: Case, python: str) -> str:
    """Write ``case`` to ``tests/fixtures/locks/<name>``; uv's verdict on the result."""
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / case.name
        work.mkdir()
        write_files(work, case.files)
        if uses_wheels(case):
            (work / "wheels").mkdir()
            for name, version, requires in WHEELS:
                wheel = work / "wheels" / f"{name}-{version}-py3-none-any.whl"
                wheel.write_bytes(wheel_bytes(name, version, requires))
        uv = uv_release(case.uv) if case.uv else uv_executable()
        argv = [uv, "lock", "--python", python] + ([] if case.git else ["--offline"])
        done = subprocess.run(
            argv,
            cwd=work,
            env=uv_env(Path(scratch) / "cache"),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            msg = f"{case.name}: {' '.join(argv)} failed:\n{done.stderr}"
            raise RuntimeError(msg)
        write_files(work, case.changes)
        (work / "CASE.md").write_text(f"{case.what}.\n", encoding="utf-8")
        target = LOCKS_DIR / case.name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(work, target)
        verdict, _ = uv_verdict(
            target, python=python, cache=Path(scratch) / "check-cache", offline=not case.git
        )
        return verdict


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="cases to rebuild (default: all)")
    parser.add_argument("--verdicts", action="store_true", help="only print uv's verdicts")
    args = parser.parse_args(argv)
    wanted = [c for c in CASES if not args.names or c.name in args.names]
    unknown = set(args.names) - {c.name for c in CASES}
    if unknown:
        parser.error(f"no such case: {', '.join(sorted(unknown))}")
    with contextlib.ExitStack() as stack:
        if any(c.git for c in wanted):
            stack.enter_context(git_server())
        for case in wanted:
            python = find_python([case.python])
            if args.verdicts:
                with tempfile.TemporaryDirectory() as cache:
                    verdict, _ = uv_verdict(
                        LOCKS_DIR / case.name,
                        python=python,
                        cache=Path(cache),
                        offline=not case.git,
                    )
            else:
                verdict = build(case, python)
            print(f"{case.name}: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
