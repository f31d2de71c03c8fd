"""Build the distributions the local index serves, and check the committed ones.

The built files are committed under ``tests/fixtures/dists/{public,private}/``
and served from there, because the fixtures' ``uv.lock`` files pin their
sha256 hashes:

* ``uvdock-private-greeting`` (hatchling, wheel + sdist) rebuilds
  byte-for-byte (hatchling normalizes timestamps; the backend version is pinned);
* ``uvdock-native-demo`` (setuptools, sdist only) does **not**: setuptools
  stamps the current time into the tar members and the gzip header, even
  with ``SOURCE_DATE_EPOCH`` set.

So rebuild only when a package's sources change, then re-lock the fixtures
(``tests/support/regenerate_locks.sh``). ``check`` rebuilds into a temporary
directory and compares with the committed files: byte-identical, or (for
archives that embed build times) identical member by member.

Usage, from the repository root::

    python -m tests.support.dists check
    python -m tests.support.dists build      # rewrites tests/fixtures/dists/
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tests.support.paths import DISTS_DIR, PACKAGES_DIR, REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "PACKAGES",
    "BuildError",
    "Comparison",
    "PackageBuild",
    "build_distributions",
    "compare_dists",
    "main",
]

#: 2025-01-01T00:00:00Z, the same instant as the git fixture's commits.
SOURCE_DATE_EPOCH = "1735689600"


class BuildError(RuntimeError):
    """``uv build`` failed."""


@dataclass(frozen=True, kw_only=True)
class PackageBuild:
    name: str
    root: Literal["public", "private"]  # the local index root that serves it
    wheel: bool

    @property
    def source(self) -> Path:
        return PACKAGES_DIR / self.name


PACKAGES = (
    PackageBuild(name="uvdock-private-greeting", root="private", wheel=True),
    # Deliberately no wheel: installing it must compile the C extension.
    PackageBuild(name="uvdock-native-demo", root="public", wheel=False),
    # Deliberately no wheel, and a Rust backend (maturin): uvdock refuses it in `plan`.
    PackageBuild(name="uvdock-rusty-demo", root="public", wheel=False),
)


def _uv_build(package: PackageBuild, out_dir: Path, *, uv: str, python: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="uvdock-build-") as tmp:
        # Build from a copy: setuptools writes *.egg-info into the source tree.
        source = Path(tmp) / package.name
        shutil.copytree(
            package.source, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
        argv = [uv, "build", "--sdist", "--no-create-gitignore", "--out-dir", str(out_dir)]
        if package.wheel:
            argv.append("--wheel")
        if python is not None:
            argv += ["--python", python]
        argv.append(str(source))
        env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
        # Run from the repository root: a pyenv `uv` shim resolves its Python
        # from the working directory's .python-version.
        completed = subprocess.run(
            argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
        )
        if completed.returncode != 0:
            msg = f"building {package.name} failed:\n{completed.stderr}"
            raise BuildError(msg)


def build_distributions(
    out_dir: Path = DISTS_DIR, *, uv: str = "uv", python: str | None = None
) -> list[Path]:
    """Build every package into ``out_dir/<root>/``; returns the files written.

    Each root directory is emptied first, so nothing stale is served.
    """
    for root in {p.root for p in PACKAGES}:
        target = out_dir / root
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
    for package in PACKAGES:
        _uv_build(package, out_dir / package.root, uv=uv, python=python)
    return sorted(p for p in out_dir.rglob("*") if p.is_file())


def _members(path: Path) -> dict[str, bytes]:
    """Archive contents by member name (directories as empty entries)."""
    if path.name.endswith(".whl") or path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    with tarfile.open(path) as archive:
        members: dict[str, bytes] = {}
        for member in archive.getmembers():
            extracted = archive.extractfile(member) if member.isfile() else None
            members[member.name] = extracted.read() if extracted else b""
        return members


@dataclass(frozen=True, kw_only=True)
class Comparison:
    name: str
    status: Literal["identical", "same-contents", "different", "missing", "unexpected"]
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in {"identical", "same-contents"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compare_dists(expected_dir: Path, actual_dir: Path) -> list[Comparison]:
    """Compare two dists trees file by file (relative paths such as ``public/x.tar.gz``)."""

    def files(base: Path) -> dict[str, Path]:
        return {p.relative_to(base).as_posix(): p for p in base.rglob("*") if p.is_file()}

    expected, actual = files(expected_dir), files(actual_dir)
    results: list[Comparison] = []
    for name in sorted(expected.keys() | actual.keys()):
        if name not in actual:
            results.append(Comparison(name=name, status="missing", detail="not rebuilt"))
        elif name not in expected:
            results.append(Comparison(name=name, status="unexpected", detail="not committed"))
        elif _sha256(expected[name]) == _sha256(actual[name]):
            results.append(Comparison(name=name, status="identical"))
        else:
            old, new = _members(expected[name]), _members(actual[name])
            changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
            if changed:
                detail = "members differ: " + ", ".join(changed)
                results.append(Comparison(name=name, status="different", detail=detail))
            else:
                detail = "archive metadata (timestamps) differs, contents are the same"
                results.append(Comparison(name=name, status="same-contents", detail=detail))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.dists",
        description="Build or check the distributions served by tests/support/local_index.py.",
    )
    parser.add_argument("command", choices=["build", "check"])
    parser.add_argument("--out-dir", type=Path, default=DISTS_DIR)
    parser.add_argument("--uv", default=os.environ.get("UV", "uv"), help="uv executable")
    parser.add_argument("--python", help="interpreter uv builds with (default: uv's choice)")
    args = parser.parse_args(argv)
    if args.command == "build":
        for path in build_distributions(args.out_dir, uv=args.uv, python=args.python):
            print(f"{_sha256(path)}  {path.relative_to(args.out_dir).as_posix()}")
        print("now re-lock the fixtures: tests/support/regenerate_locks.sh", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory(prefix="uvdock-dists-") as tmp:
        build_distributions(Path(tmp), uv=args.uv, python=args.python)
        results = compare_dists(args.out_dir, Path(tmp))
    for result in results:
        print(f"{result.status:>13}  {result.name}  {result.detail}".rstrip())
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
