"""Which locked packages have a wheel for a Python and platform, and which Python to choose.

``uv.lock`` lists every file of every locked package, so whether a package
installs from a wheel or must be built from its sdist follows from the lock
alone. The Python of the image is chosen with that in view: the highest minor
version that ``requires-python`` allows *and* for which every locked package
that publishes binary wheels has one on every target platform. A newer Python
that an older lock has no wheels for would otherwise turn a plain install
into a from-source build (pydantic-core needs Rust, numpy a C toolchain).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from uvdock.plan.model import BuildCause, NativeBuild
from uvdock.project.lockfile import ARCH_OF_PLATFORM, installed_packages, supported_tags
from uvdock.project.model import LockedPackage

__all__ = ["PythonChoice", "choose_python", "from_source"]


def _wheel_tags(package: LockedPackage) -> list[frozenset[Tag]]:
    found = []
    for wheel in package.wheels:
        try:
            _, _, _, tags = parse_wheel_filename(wheel.filename)
        except InvalidWheelFilename:
            continue
        found.append(tags)
    return found


def _binary_for_arch(tags: Iterable[frozenset[Tag]], arch: str) -> bool:
    """Whether any wheel is a Linux binary for ``arch`` (any Python)."""
    return any(t.platform.startswith(("linux", "manylinux", "musllinux")) and
               t.platform.endswith(arch) for group in tags for t in group)  # fmt: skip


def _binary(tags: Iterable[frozenset[Tag]]) -> bool:
    return any(t.platform != "any" for group in tags for t in group)


def _cause(package: LockedPackage, *, platform: str, compatible: set[Tag]) -> BuildCause | None:
    """Why ``package`` is built from source on ``platform``, or None when a wheel fits."""
    if package.is_local_project or package.source_kind in {"directory", "editable", "virtual"}:
        return None  # the project's own code and local packages: built as part of the project
    if package.source_kind != "registry":
        return "git" if package.source_kind == "git" else "url"
    tags = _wheel_tags(package)
    if any(group & compatible for group in tags):
        return None
    arch = ARCH_OF_PLATFORM.get(platform, platform.rsplit("/", 1)[-1])
    if _binary_for_arch(tags, arch):
        return "python"
    if _binary(tags):
        return "platform"
    return "sdist-only"


_REASONS: dict[BuildCause, str] = {
    "python": "no cp{py} wheel",
    "platform": "no wheel for this platform",
    "sdist-only": "only an sdist, no wheel for this Python and platform",
    "git": "a git dependency, built from source",
    "url": "a direct URL dependency, built from source",
}


def from_source(
    packages: Sequence[LockedPackage],
    *,
    roots: Sequence[str],
    python: str,
    platforms: Sequence[str],
    glibc_minor: int,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
) -> list[NativeBuild]:
    """The locked packages that ``uv sync`` would build from source, per platform."""
    builds: dict[tuple[str, str | None], NativeBuild] = {}
    for platform in platforms:
        installed = installed_packages(
            packages, roots=roots, python=python, platform=platform, extras=extras, groups=groups
        )
        compatible = supported_tags(python=python, platform=platform, glibc_minor=glibc_minor)
        for package in installed:
            cause = _cause(package, platform=platform, compatible=compatible)
            if cause is None:
                continue
            key = (package.name, package.version)
            previous = builds.get(key)
            builds[key] = NativeBuild(
                package=package.name,
                version=package.version,
                platforms=(*(previous.platforms if previous else ()), platform),
                reason=_REASONS[cause].format(py=python.replace(".", "")),
                cause=cause,
            )
    return list(builds.values())


@dataclasses.dataclass(frozen=True, kw_only=True)
class PythonChoice:
    python: str
    # Higher Pythons passed over, each with the packages it has no wheels for.
    skipped: tuple[tuple[str, tuple[NativeBuild, ...]], ...]

    def why(self) -> str:
        """``3.14 skipped: pydantic-core 2.33.2 has no cp314 wheel`` (one clause per Python)."""
        clauses = []
        for python, gaps in self.skipped:
            named = [_gap_text(gap, python) for gap in gaps[:2]]
            more = f" (and {len(gaps) - 2} more)" if len(gaps) > 2 else ""  # noqa: PLR2004
            clauses.append(f"{python} skipped: {', '.join(named)}{more}")
        return "; ".join(clauses)


def _gap_text(gap: NativeBuild, python: str) -> str:
    where = "" if len(gap.platforms) > 1 else f" for {gap.platforms[0]}"
    return f"{gap.package} {gap.version or ''} has no cp{python.replace('.', '')} wheel{where}"


def choose_python(candidates: Sequence[str], gaps_of: dict[str, list[NativeBuild]]) -> PythonChoice:
    """The highest candidate with the fewest packages lacking a wheel for that Python.

    Only gaps a Python *causes* count (``cause == "python"``): a package with
    no wheel for any Python (an sdist-only release, a platform it never ships
    for) is built from source whatever the choice, so it must not push the
    image down to an old Python.
    """
    ordered = sorted(candidates, key=lambda v: tuple(int(p) for p in v.split(".")), reverse=True)

    def python_gaps(python: str) -> tuple[NativeBuild, ...]:
        return tuple(g for g in gaps_of.get(python, ()) if g.cause == "python")

    fewest = min(len(python_gaps(p)) for p in ordered)
    chosen = next(p for p in ordered if len(python_gaps(p)) == fewest)
    skipped = tuple((p, python_gaps(p)) for p in ordered[: ordered.index(chosen)] if python_gaps(p))
    return PythonChoice(python=chosen, skipped=skipped)
