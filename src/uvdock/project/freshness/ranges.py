"""Version specifiers as sets of version ranges, the way uv compares ``requires-python``
and registry requirements."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from uvdock.project.freshness.base import UndecidableError

__all__ = [
    "ABOVE_ALL",
    "BELOW_ALL",
    "FULL",
    "Cut",
    "bounding_range",
    "intersect",
    "parse_specifiers",
    "plain_release",
    "specifier_set_ranges",
    "trim",
]

# --- versions as ranges ----------------------------------------------------------------
#
# A "cut" is a point between versions: (release, level) with the release's trailing zeros
# trimmed (``3.12.0`` is ``3.12``) and level 0 before all of the release's dev and
# pre-releases, 1 before the final release, 2 after its local versions (before its
# post-releases), 3 after all of it. Trimmed release tuples compare like PEP 440 releases,
# and between two different cuts there is always a version, so equal sets of half-open
# intervals [cut, cut) are equal sets of versions.

Cut = tuple[tuple[int, ...], int]
_Ranges = tuple[tuple[Cut, Cut], ...]

BELOW_ALL: Cut = ((-1,), 0)
ABOVE_ALL: Cut = ((1 << 62,), 0)
FULL: _Ranges = ((BELOW_ALL, ABOVE_ALL),)


def trim(release: Sequence[int]) -> tuple[int, ...]:
    values = list(release)
    while len(values) > 1 and values[-1] == 0:
        values.pop()
    return tuple(values)


def _bump(release: Sequence[int]) -> tuple[int, ...]:
    return (*release[:-1], release[-1] + 1)


def intersect(left: _Ranges, right: _Ranges) -> _Ranges:
    out: list[tuple[Cut, Cut]] = []
    i = j = 0
    while i < len(left) and j < len(right):
        low = max(left[i][0], right[j][0])
        high = min(left[i][1], right[j][1])
        if low < high:
            out.append((low, high))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _complement(ranges: _Ranges) -> _Ranges:
    out: list[tuple[Cut, Cut]] = []
    start = BELOW_ALL
    for low, high in ranges:
        if start < low:
            out.append((start, low))
        start = high
    if start < ABOVE_ALL:
        out.append((start, ABOVE_ALL))
    return tuple(out)


def plain_release(text: str) -> tuple[int, ...] | None:
    """The release of a plain version (no epoch, pre, post, dev or local part), else None."""
    try:
        version = Version(text)
    except InvalidVersion:
        return None
    if version.epoch or version.pre or version.post is not None or version.dev is not None:
        return None
    if version.local:
        return None
    return version.release


def _specifier_ranges(operator: str, text: str, *, release_only: bool) -> _Ranges | None:
    """The versions one specifier accepts, as uv computes them; None if not modelled.

    ``release_only`` is uv's ``release_specifier_to_range`` (requires-python: only
    releases are ever tested, so a release's pre-releases and post-releases do not
    count); otherwise ``From<VersionSpecifier> for Ranges<Version>`` (PEP 440).
    """
    wildcard = text.endswith(".*")
    release = plain_release(text.removesuffix(".*"))
    if release is None or operator == "===" or (wildcard and operator not in ("==", "!=")):
        return None
    this = trim(release)
    before_all, before, after, after_all = ((this, 1), (this, 1), (this, 2), (this, 2))
    if not release_only:
        before_all, after_all = (this, 0), (this, 3)
    start_of = 1 if release_only else 0  # the cut before a release and all its pre-releases
    if wildcard:
        ranges: _Ranges = ((before_all, (trim(_bump(release)), start_of)),)
        return ranges if operator == "==" else _complement(ranges)
    if operator == "~=":
        if len(release) < 2:  # noqa: PLR2004 (PEP 440: ~= needs two release segments)
            return None
        return ((before, (trim(_bump(release[:-1])), start_of)),)
    single: dict[str, _Ranges] = {
        "==": ((before, after),),
        "!=": _complement(((before, after),)),
        ">=": ((before, ABOVE_ALL),),
        "<=": ((BELOW_ALL, after),),
        ">": ((after_all, ABOVE_ALL),),
        "<": ((BELOW_ALL, before_all),),
    }
    return single.get(operator)


def specifier_set_ranges(specifiers: Iterable[Specifier], *, release_only: bool) -> _Ranges | None:
    ranges = FULL
    for specifier in specifiers:
        one = _specifier_ranges(specifier.operator, specifier.version, release_only=release_only)
        if one is None:
            return None
        ranges = intersect(ranges, one)
    return ranges


def bounding_range(ranges: _Ranges) -> tuple[Cut, Cut]:
    """The bounding range (``Ranges::bounding_range``), the only thing uv compares."""
    if not ranges:
        return (BELOW_ALL, BELOW_ALL)
    return (ranges[0][0], ranges[-1][1])


def parse_specifiers(text: str) -> tuple[Specifier, ...]:
    try:
        return tuple(SpecifierSet(text))
    except InvalidSpecifier as err:
        raise UndecidableError(f"cannot parse the specifiers {text!r}") from err
