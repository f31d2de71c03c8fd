"""A source edit without a wheel build: the project's installed files, patched in place.

A full project layer costs a wheel build, an install and a bytecode pass
(about 0.6 s for a small app). But for a pure-Python package whose metadata
is static, a build backend copies each package file into the wheel verbatim,
so after an edit the installed tree differs from the last one only in the
edited files' bytes, their RECORD rows and their ``.pyc``. This module keeps
the last installed tree (a *snapshot*) with the state of every file in the
project, and reuses it when that is provably what a full build would give:

- the backend is one that copies files verbatim and the metadata is static
  (no ``dynamic`` fields, no build hooks, no ``setup.py``: anything else
  always takes the full path);
- the project's set of files is the same (a new or removed file can change
  what the backend selects);
- every file that changed is one the wheel holds verbatim (*mapped*: its
  bytes equal an installed file's RECORD hash, at a matching path), and is not
  named in ``pyproject.toml`` (a readme or version file feeds the metadata);
- everything else (``pyproject.toml``, ``.gitignore``, README, ...) is
  byte-identical.

Tests check that a patched tree gives the same layer digest as a full build.
No library does this (build backends have no incremental mode), hence by hand.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Backends known to copy package files into the wheel unchanged.
VERBATIM_BACKENDS = frozenset(
    {
        "hatchling.build",
        "uv_build",
        "flit_core.buildapi",
        "pdm.backend",
        "poetry.core.masonry.api",
        "setuptools.build_meta",
    }
)
# Never inputs of a wheel: VCS data, environments, caches, other builds' outputs.
SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "__pycache__", ".mypy_cache", ".pytest_cache",
        ".ruff_cache", ".tox", ".nox", "node_modules",
    }
)  # fmt: skip
SNAPSHOT_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int
    sha256: str  # hex; "" until hashed


Sources = dict[str, FileState]  # project-relative POSIX path -> state


def eligible(pyproject_text: str | None, root: Path) -> bool:
    """Whether the project's wheel is a verbatim copy of its files plus static metadata."""
    if pyproject_text is None or (root / "setup.py").exists() or (root / "setup.cfg").exists():
        return False
    try:
        data = tomllib.loads(pyproject_text)
    except tomllib.TOMLDecodeError:
        return False
    project = data.get("project")
    backend = (data.get("build-system") or {}).get("build-backend")
    hatch_build = (data.get("tool") or {}).get("hatch", {}).get("build", {})
    hooks = "hooks" in hatch_build or any(
        isinstance(t, dict) and "hooks" in t for t in (hatch_build.get("targets") or {}).values()
    )
    return (
        isinstance(project, dict)
        and not project.get("dynamic")
        and backend in VERBATIM_BACKENDS
        and not hooks
    )


def scan(root: Path, previous: Sources | None = None) -> Sources:
    """Every file of the project with its size and mtime; hashed when new or changed.

    A file whose size and mtime match ``previous`` keeps its hash (as git's
    index does): only touched files are read.
    """
    found: Sources = {}
    stack = [root]
    while stack:
        directory = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    path = Path(entry.path)
                    if entry.name not in SKIPPED_DIRS and not (path / "pyvenv.cfg").exists():
                        stack.append(path)
                    continue
                stat = entry.stat(follow_symlinks=False)
                relative = Path(entry.path).relative_to(root).as_posix()
                old = (previous or {}).get(relative)
                if old is not None and (old.size, old.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                    found[relative] = old
                    continue
                digest = (
                    hashlib.sha256(Path(entry.path).read_bytes()).hexdigest()
                    if entry.is_file(follow_symlinks=False)
                    else "link:" + str(Path(entry.path).readlink())
                )
                found[relative] = FileState(stat.st_size, stat.st_mtime_ns, digest)
    return found


def _record_hash(hex_digest: str) -> str:
    """A RECORD row's hash (PEP 376/427: urlsafe base64 without padding) of a hex sha256."""
    return "sha256=" + base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).rstrip(b"=").decode()


def _records(tree: Path) -> list[Path]:
    return sorted(tree.glob("**/site-packages/*.dist-info/RECORD"))


def map_sources(tree: Path, sources: Sources, pyproject_text: str) -> dict[str, list[str]]:
    """Source path -> the installed files (tree-relative) that are its bytes, verbatim.

    An installed file maps to a source with the same sha256 whose path ends
    with the installed path (so two empty ``__init__.py`` files map to their
    own); a source named in ``pyproject.toml`` never maps (it feeds metadata).
    """
    by_hash: dict[str, list[str]] = {}
    for path, state in sources.items():
        if path not in pyproject_text:
            by_hash.setdefault(state.sha256, []).append(path)
    mapped: dict[str, list[str]] = {}
    for record in _records(tree):
        site = record.parent.parent
        for row in record.read_text(encoding="utf-8").splitlines():
            name, _, rest = row.partition(",")
            hash_field = rest.partition(",")[0]
            if not hash_field.startswith("sha256=") or name.startswith(".."):
                continue
            raw = base64.urlsafe_b64decode(hash_field[7:] + "=" * (-len(hash_field[7:]) % 4))
            candidates = [p for p in by_hash.get(raw.hex(), []) if p.endswith(name)]
            if len(candidates) == 1:
                installed = (site / name).relative_to(tree).as_posix()
                mapped.setdefault(candidates[0], []).append(installed)
    return mapped


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The last full install of the project: its tree, and the sources it came from."""

    directory: Path  # holds tree/ and snapshot.json
    sources: Sources
    mapped: dict[str, list[str]]

    @property
    def tree(self) -> Path:
        return self.directory / "tree"


def load(directory: Path) -> Snapshot | None:
    try:
        raw = json.loads((directory / "snapshot.json").read_text())
        if raw.get("format") != SNAPSHOT_FORMAT or not (directory / "tree").is_dir():
            return None
        sources = {path: FileState(*state) for path, state in raw["sources"].items()}
        return Snapshot(directory, sources, {k: list(v) for k, v in raw["mapped"].items()})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(directory: Path, tree: Path, sources: Sources, pyproject_text: str) -> None:
    """Keep ``tree`` (copied) as the snapshot for ``sources``; replaced atomically."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(f".{directory.name}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(tree, staging / "tree", symlinks=True)
    record: dict[str, Any] = {
        "format": SNAPSHOT_FORMAT,
        "sources": {path: dataclasses.astuple(state) for path, state in sources.items()},
        "mapped": map_sources(tree, sources, pyproject_text),
    }
    (staging / "snapshot.json").write_text(json.dumps(record, sort_keys=True))
    old = directory.with_name(f".{directory.name}.old.{os.getpid()}")
    if directory.exists():
        directory.rename(old)
    staging.rename(directory)
    shutil.rmtree(old, ignore_errors=True)


def changed_files(snapshot: Snapshot, sources: Sources) -> list[str] | None:
    """The edited files when a patch is exact, else None (a full build is needed)."""
    if sources.keys() != snapshot.sources.keys():
        return None
    changed = [p for p, state in sources.items() if state.sha256 != snapshot.sources[p].sha256]
    if any(path not in snapshot.mapped for path in changed):
        return None
    return changed


def patch(
    snapshot: Snapshot,
    root: Path,
    changed: list[str],
    dest: Path,
    *,
    compile_files: Callable[[Path, list[Path]], bool],
) -> Path:
    """The snapshot's tree copied to ``dest`` with ``changed`` sources' bytes put in place.

    Each installed copy gets the new bytes, its RECORD row the new hash and
    size, and its ``.pyc`` is compiled again by ``compile_files(tree, files)``.
    """
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(snapshot.tree, dest, symlinks=True)
    rows: dict[str, str] = {}  # installed path -> new RECORD row tail
    recompile: list[Path] = []
    for source in changed:
        data = (root / source).read_bytes()
        tail = f"{_record_hash(hashlib.sha256(data).hexdigest())},{len(data)}"
        for installed in snapshot.mapped[source]:
            target = dest / installed
            mode = target.stat().st_mode
            target.unlink()
            target.write_bytes(data)
            target.chmod(mode & 0o7777)
            rows[installed] = tail
            if target.suffix == ".py":
                recompile.append(target)
    for record in _records(dest):
        site = record.parent.parent
        lines = record.read_text(encoding="utf-8").splitlines(keepends=True)
        for number, row in enumerate(lines):
            name = row.partition(",")[0]
            new_tail = rows.get((site / name).relative_to(dest).as_posix())
            if new_tail is not None:
                lines[number] = f"{name},{new_tail}\n"
        record.write_text("".join(lines), encoding="utf-8")
    for target in recompile:
        for stale in target.parent.glob(f"__pycache__/{target.stem}.*.pyc"):
            stale.unlink()
    if recompile:
        compile_files(dest, recompile)  # does nothing when the build compiles no bytecode
    return dest
