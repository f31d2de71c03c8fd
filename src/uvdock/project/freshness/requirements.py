"""A requirement as uv's lock compares it (name, extras, marker, source), and the
difference of two sets of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from packaging.specifiers import Specifier

from uvdock.project.freshness.base import UndecidableError
from uvdock.project.freshness.markers import Marker, marker_atoms, markers_equal
from uvdock.project.freshness.ranges import Cut, specifier_set_ranges

__all__ = [
    "Directory",
    "File",
    "Git",
    "Registry",
    "Req",
    "Source",
    "Url",
    "describe_change",
    "diff",
]


@dataclasses.dataclass(frozen=True)
class Registry:
    specifiers: tuple[tuple[str, str], ...]
    index: str | None = None

    def describe(self) -> str:
        spec = ",".join(f"{op}{version}" for op, version in self.specifiers)
        return spec + (f" (index {self.index})" if self.index else "")


@dataclasses.dataclass(frozen=True)
class Directory:
    path: str
    editable: bool
    virtual: bool

    def describe(self) -> str:
        kind = "editable" if self.editable else "virtual" if self.virtual else "directory"
        return f" @ {kind} {self.path}"


@dataclasses.dataclass(frozen=True)
class File:
    path: str

    def describe(self) -> str:
        return f" @ {self.path}"


@dataclasses.dataclass(frozen=True)
class Git:
    repository: str
    reference: tuple[str, str] | None
    subdirectory: str | None

    def describe(self) -> str:
        ref = f"@{self.reference[1]}" if self.reference else ""
        return f" @ git+{self.repository}{ref}"


@dataclasses.dataclass(frozen=True)
class Url:
    url: str
    subdirectory: str | None

    def describe(self) -> str:
        return f" @ {self.url}"


Source = Registry | Directory | File | Git | Url


@dataclasses.dataclass(frozen=True)
class Req:
    name: str
    extras: tuple[str, ...]
    marker: Marker | None
    source: Source

    def __str__(self) -> str:
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        marker = f"; {self.marker.text}" if self.marker else ""
        return f"{self.name}{extras}{self.source.describe()}{marker}"


def _registry_key(source: Registry) -> tuple[object, ...] | None:
    """What uv compares of a registry requirement (``RequirementsKey``); None if not modelled."""
    specifiers = [Specifier(f"{op}{version}") for op, version in source.specifiers]
    ranges = specifier_set_ranges(specifiers, release_only=False)
    if ranges is None:
        return None
    # Only plain release versions are modelled, so no specifier opts into pre-releases.
    return (ranges, _allows_yanked(source), source.index)


def _allows_yanked(source: Registry) -> bool:
    """uv's ``allows_yanked``: exactly one specifier, an exact ``==`` (or ``===``) pin."""
    if len(source.specifiers) != 1:
        return False
    operator, version = source.specifiers[0]
    return operator in ("==", "===") and not version.endswith(".*")


def _sources_equal(left: Source, right: Source) -> bool:
    if isinstance(left, Registry) and isinstance(right, Registry):
        if left == right:
            return True
        indexes = (left.index or "", right.index or "")
        if left.index and right.index and indexes[0] != indexes[1]:
            if any(i.startswith("file:") for i in indexes):
                raise UndecidableError(f"local indexes {indexes[0]!r} and {indexes[1]!r}")
            if indexes[0].rstrip("/") == indexes[1].rstrip("/"):
                raise UndecidableError(f"indexes {indexes[0]!r} and {indexes[1]!r}")
        keys = (_registry_key(left), _registry_key(right))
        if keys[0] is None or keys[1] is None:
            raise UndecidableError(f"specifiers {left.describe()!r} and {right.describe()!r}")
        return keys[0] == keys[1]
    return left == right


def _reqs_equal(left: Req, right: Req, python_bounds: tuple[Cut, Cut]) -> bool:
    return (
        left.name == right.name
        and left.extras == right.extras
        and _sources_equal(left.source, right.source)
        and markers_equal(left.marker, right.marker, python_bounds)
    )


def diff(
    expected: Sequence[Req], actual: Sequence[Req], python_bounds: tuple[Cut, Cut]
) -> tuple[list[Req], list[Req]]:
    """Requirements only in ``expected`` and only in ``actual``; raises if undecidable."""
    names = sorted({r.name for r in (*expected, *actual)})
    added: list[Req] = []
    removed: list[Req] = []
    undecided: list[str] = []
    for name in names:
        mine = [r for r in expected if r.name == name]
        theirs = [r for r in actual if r.name == name]
        if not mine or not theirs:
            added += mine
            removed += theirs
            continue
        if len(mine) == len(theirs) == 1:
            try:
                if not _reqs_equal(mine[0], theirs[0], python_bounds):
                    added += mine
                    removed += theirs
            except UndecidableError as err:
                undecided.append(str(err))
            continue
        extra_added, extra_removed, certain = _diff_several(mine, theirs, python_bounds)
        added += extra_added
        removed += extra_removed
        if not certain:
            undecided.append(f"several requirements on {name}")
    if added or removed:
        return added, removed
    if undecided:
        raise UndecidableError(undecided[0])
    return added, removed


def _safe_equal(left: Req, right: Req, python_bounds: tuple[Cut, Cut]) -> bool:
    try:
        return _reqs_equal(left, right, python_bounds)
    except UndecidableError:
        return False


def _mentions_extra(marker: Marker | None) -> bool:
    return marker is not None and any(a.kind == "extra" for a in marker_atoms(marker.tree))


def _may_merge(left: Req, right: Req, python_bounds: tuple[Cut, Cut]) -> bool:
    """Whether uv's ``normalize_package_requirements`` could merge the two declarations.

    It merges declarations of one package with the same source (registry specifiers
    aside, unless one is an exact pin) and, when a marker names an extra, the same marker.
    """
    sources = (left.source, right.source)
    if isinstance(sources[0], Registry) and isinstance(sources[1], Registry):
        pins = tuple(_allows_yanked(s) for s in sources if isinstance(s, Registry))
        if sources[0].index != sources[1].index or (any(pins) and sources[0] != sources[1]):
            return False
    elif sources[0] != sources[1]:
        return False
    if not (_mentions_extra(left.marker) or _mentions_extra(right.marker)):
        return True
    try:
        return markers_equal(left.marker, right.marker, python_bounds)
    except UndecidableError:
        return True


def _diff_several(
    mine: Sequence[Req], theirs: Sequence[Req], python_bounds: tuple[Cut, Cut]
) -> tuple[list[Req], list[Req], bool]:
    """Like ``diff`` for one package declared several times: (added, removed, certain).

    Equal declarations pair off; one left over is a certain difference only when
    nothing else could merge with it (so uv's normalized sets differ too).
    """
    left = list(mine)
    right = list(theirs)
    for req in list(left):
        match = next((o for o in right if _safe_equal(req, o, python_bounds)), None)
        if match is not None:
            left.remove(req)
            right.remove(match)
    everything = [*mine, *theirs]
    certain = all(
        not any(o is not req and _may_merge(req, o, python_bounds) for o in everything)
        for req in (*left, *right)
    )
    if certain:
        return left, right, True
    return [], [], False


def describe_change(added: Sequence[Req], removed: Sequence[Req]) -> str:
    return ", ".join([*(f"+{r}" for r in added), *(f"-{r}" for r in removed)])
