"""Is ``uv.lock`` up to date with the workspace's ``pyproject.toml`` files? uv's own answer.

``uv lock --check`` is the authority, but uvdock cannot run it at plan time:
uv has no library API, the command needs an interpreter that satisfies
``requires-python`` on the host (often absent) and, when the lock does not
satisfy the project, it re-resolves, which may need the network. So the rules
``uv lock --check`` applies before it would resolve are re-implemented here,
from the files alone, and the answer is one of three:

- ``fresh``: every check uv makes passes, so ``uv sync --locked`` accepts the lock;
- ``stale``: a check uv makes fails for certain (uv would re-resolve and
  report that the lock needs updating);
- ``unknown``: something uvdock does not model (dynamic dependencies that need
  a build, a local archive, an unusual marker or source, settings from
  ``uv.toml``...). The planner prints a note and does not refuse; the build's
  ``uv sync --locked`` decides.

The rules follow uv 0.13.9 (read from its source distribution on PyPI,
``uv-0.13.9.tar.gz``; the public GitHub snapshot stops at 0.12.5, before lock
revisions 4 and 5), in uv's order:

- ``crates/uv-lock-operations/src/validated_lock.rs`` ``ValidatedLock::validate``:
  resolver options (``resolution-mode``, ``prerelease-mode``,
  ``fork-strategy``; an ``exclude-newer`` timestamp invalidates only when
  added, removed or moved earlier, ``crates/uv-configuration/src/exclude_newer.rs``),
  supported/required environments, conflicts, and ``requires-python`` compared as a *range*
  (``RequiresPython::range``), so ``>=3.12,<3.13`` in ``pyproject.toml`` and
  ``==3.12.*`` in ``uv.lock`` are the same, while holes such as
  ``!=3.11.*`` are ignored (only the bounding range is compared);
- ``crates/uv-distribution-types/src/requires_python.rs`` and
  ``crates/uv-pep440/src/version_ranges.rs`` (``release_specifiers_to_ranges``):
  how ``requires-python`` becomes that range, the workspace's being the
  intersection of its members';
- ``crates/uv-lock/src/lock/mod.rs`` ``Lock::satisfies``: workspace members
  (``[manifest] members``), default groups and group metadata (lock revision
  5 and later), virtual/editable members, the manifest's requirements,
  constraints, overrides, excludes, build constraints, dependency groups and
  dependency metadata, then every local source tree reachable from the
  members: static or ``dynamic`` version, ``provides-extras`` (revision 1 and
  later), ``requires-dist`` and ``requires-dev`` (empty groups count from
  revision 1); registry and git packages are immutable and not descended into;
- ``crates/uv-lock/src/lock/requirements.rs`` ``normalize_requirement`` and
  ``crates/uv-configuration/src/normalized_requirements.rs``: requirements are
  compared as sets; a registry requirement's specifiers by the versions they
  accept (``>=1,<2`` equals ``<2.0,>=1.0``); markers semantically, after
  simplifying by the lock's ``requires-python`` (so
  ``python_version >= "3.8"`` under ``requires-python = ">=3.10"`` is no marker);
  path sources resolved against the workspace root;
- ``crates/uv-distribution/src/metadata/lowering.rs`` and ``requires_dist.rs``:
  how ``[tool.uv.sources]`` (``path``, ``editable``, ``workspace``, ``git``,
  ``url``, ``index``) turn a requirement into what the lock records, and that a
  local source drops the version specifier;
- ``crates/uv-workspace/src/dependency_groups.rs``: ``include-group`` is
  flattened and the legacy ``[tool.uv] dev-dependencies`` is the ``dev`` group;
- ``crates/uv-pep508/src/marker/algebra.rs``: ``platform_system`` values that
  equal a ``sys_platform`` value are the same marker.

``tests/unit/test_freshness.py`` runs the real ``uv lock --check`` on every case
in ``tests/fixtures/locks/`` and requires the same verdict.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import os
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from uvdock.project.documents import read_lock, read_pyproject, read_uv_toml
from uvdock.project.workspace import members as workspace_members

__all__ = [
    "UV_VERSION",
    "Freshness",
    "FreshnessState",
    "check_freshness",
    "check_workspace_freshness",
]

#: The uv release whose rules this module follows.
UV_VERSION = "0.13.9"

FreshnessState = Literal["fresh", "stale", "unknown"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Freshness:
    """The verdict on a lock: ``state`` and, unless fresh, one line saying why."""

    state: FreshnessState
    reason: str | None = None


class _StaleError(Exception):
    """A check uv makes fails for certain."""


class _UndecidableError(Exception):
    """This check cannot be decided from the files (or uv would stop with an error)."""


# --- versions as ranges ----------------------------------------------------------------
#
# A "cut" is a point between versions: (release, level) with the release's trailing zeros
# trimmed (``3.12.0`` is ``3.12``) and level 0 before all of the release's dev and
# pre-releases, 1 before the final release, 2 after its local versions (before its
# post-releases), 3 after all of it. Trimmed release tuples compare like PEP 440 releases,
# and between two different cuts there is always a version, so equal sets of half-open
# intervals [cut, cut) are equal sets of versions.

_Cut = tuple[tuple[int, ...], int]
_Ranges = tuple[tuple[_Cut, _Cut], ...]

_BELOW_ALL: _Cut = ((-1,), 0)
_ABOVE_ALL: _Cut = ((1 << 62,), 0)
_FULL: _Ranges = ((_BELOW_ALL, _ABOVE_ALL),)


def _norm(name: str) -> str:
    """A package, extra or group name as uv normalizes it (PEP 503)."""
    return str(canonicalize_name(name))


def _trim(release: Sequence[int]) -> tuple[int, ...]:
    values = list(release)
    while len(values) > 1 and values[-1] == 0:
        values.pop()
    return tuple(values)


def _bump(release: Sequence[int]) -> tuple[int, ...]:
    return (*release[:-1], release[-1] + 1)


def _intersect(left: _Ranges, right: _Ranges) -> _Ranges:
    out: list[tuple[_Cut, _Cut]] = []
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
    out: list[tuple[_Cut, _Cut]] = []
    start = _BELOW_ALL
    for low, high in ranges:
        if start < low:
            out.append((start, low))
        start = high
    if start < _ABOVE_ALL:
        out.append((start, _ABOVE_ALL))
    return tuple(out)


def _release_only(text: str) -> tuple[int, ...] | None:
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
    release = _release_only(text.removesuffix(".*"))
    if release is None or operator == "===" or (wildcard and operator not in ("==", "!=")):
        return None
    this = _trim(release)
    before_all, before, after, after_all = ((this, 1), (this, 1), (this, 2), (this, 2))
    if not release_only:
        before_all, after_all = (this, 0), (this, 3)
    start_of = 1 if release_only else 0  # the cut before a release and all its pre-releases
    if wildcard:
        ranges: _Ranges = ((before_all, (_trim(_bump(release)), start_of)),)
        return ranges if operator == "==" else _complement(ranges)
    if operator == "~=":
        if len(release) < 2:  # noqa: PLR2004 (PEP 440: ~= needs two release segments)
            return None
        return ((before, (_trim(_bump(release[:-1])), start_of)),)
    single: dict[str, _Ranges] = {
        "==": ((before, after),),
        "!=": _complement(((before, after),)),
        ">=": ((before, _ABOVE_ALL),),
        "<=": ((_BELOW_ALL, after),),
        ">": ((after_all, _ABOVE_ALL),),
        "<": ((_BELOW_ALL, before_all),),
    }
    return single.get(operator)


def _specifier_set_ranges(specifiers: Iterable[Specifier], *, release_only: bool) -> _Ranges | None:
    ranges = _FULL
    for specifier in specifiers:
        one = _specifier_ranges(specifier.operator, specifier.version, release_only=release_only)
        if one is None:
            return None
        ranges = _intersect(ranges, one)
    return ranges


def _bounds(ranges: _Ranges) -> tuple[_Cut, _Cut]:
    """The bounding range (``Ranges::bounding_range``), the only thing uv compares."""
    if not ranges:
        return (_BELOW_ALL, _BELOW_ALL)
    return (ranges[0][0], ranges[-1][1])


def _parse_specifiers(text: str) -> tuple[Specifier, ...]:
    try:
        return tuple(SpecifierSet(text))
    except InvalidSpecifier as err:
        raise _UndecidableError(f"cannot parse the specifiers {text!r}") from err


# --- markers ----------------------------------------------------------------------------
#
# uv compares markers as decision diagrams (canonical, so semantic). Here two markers are
# evaluated on every combination of the values that can change their outcome: the
# versions they mention and their neighbours (restricted to the lock's requires-python
# range, which uv simplifies by), each string they compare with plus one more, and each
# extra on and off. Anything outside that model is undecidable.

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<paren>[()])
    |(?P<string>'[^']*'|"[^"]*")
    |(?P<op>===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b)
    |(?P<bool>and\b|or\b)
    |(?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_ALIASES = {
    "os.name": "os_name",
    "sys.platform": "sys_platform",
    "platform.version": "platform_version",
    "platform.machine": "platform_machine",
    "platform.python_implementation": "platform_python_implementation",
    "python_implementation": "platform_python_implementation",
}
_PYTHON_VARS = frozenset({"python_version", "python_full_version"})
_STRING_VARS = frozenset(
    {
        "os_name",
        "sys_platform",
        "platform_machine",
        "platform_python_implementation",
        "platform_system",
        "implementation_name",
        "platform_version",
    }
)
# uv-pep508 marker/algebra.rs: these platform_system values are sys_platform values.
_PLATFORM_SYSTEM = {
    "Windows": "win32",
    "Darwin": "darwin",
    "Linux": "linux",
    "AIX": "aix",
    "Emscripten": "emscripten",
    "Android": "android",
}
_FLIPPED = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}
_MAX_ENVIRONMENTS = 200_000


@dataclasses.dataclass(frozen=True)
class _Atom:
    """One comparison, normalized: ``kind`` is "python", "string" or "extra"."""

    kind: str
    var: str
    op: str
    value: str


_Node = tuple[str, tuple[Any, ...]]  # ("and"|"or", children) or ("atom", (_Atom,))


@dataclasses.dataclass(frozen=True)
class _Marker:
    text: str
    tree: _Node


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _UndecidableError(f"cannot parse the marker {text!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


def _atom(left: tuple[str, str], op: str, right: tuple[str, str]) -> _Atom:
    op = re.sub(r"\s+", " ", op)
    if left[0] == "string" and right[0] == "name":
        if op not in _FLIPPED:
            raise _UndecidableError(f"marker operator {op!r} with the value first")
        left, right, op = right, left, _FLIPPED[op]
    if left[0] != "name" or right[0] != "string":
        raise _UndecidableError("marker comparison of two variables or two strings")
    var = _ALIASES.get(left[1], left[1])
    value = right[1][1:-1]
    if var in _PYTHON_VARS:
        return _Atom("python", var, op, value)
    if var == "extra":
        if op not in ("==", "!="):
            raise _UndecidableError(f"marker `extra {op}`")
        return _Atom("extra", var, op, _norm(value))
    if var in _STRING_VARS and op in ("==", "!="):
        if var == "platform_system" and value in _PLATFORM_SYSTEM:
            return _Atom("string", "sys_platform", op, _PLATFORM_SYSTEM[value])
        return _Atom("string", var, op, value)
    raise _UndecidableError(f"marker `{var} {op} ...` is not modelled")


def _parse_marker(text: str) -> _Marker:
    tokens = _tokens(text)
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal position
        if position >= len(tokens):
            raise _UndecidableError(f"cannot parse the marker {text!r}")
        position += 1
        return tokens[position - 1]

    def expression(word: str) -> _Node:
        sub = "and" if word == "or" else None
        children = [expression(sub) if sub else primary()]
        while (token := peek()) is not None and token == ("bool", word):
            take()
            children.append(expression(sub) if sub else primary())
        return children[0] if len(children) == 1 else (word, tuple(children))

    def primary() -> _Node:
        token = take()
        if token == ("paren", "("):
            node = expression("or")
            if take() != ("paren", ")"):
                raise _UndecidableError(f"cannot parse the marker {text!r}")
            return node
        op = take()
        if op[0] != "op":
            raise _UndecidableError(f"cannot parse the marker {text!r}")
        return ("atom", (_atom(token, op[1], take()),))

    tree = expression("or")
    if position != len(tokens):
        raise _UndecidableError(f"cannot parse the marker {text!r}")
    return _Marker(text=text, tree=tree)


def _atoms(node: _Node) -> Iterator[_Atom]:
    kind, children = node
    if kind == "atom":
        yield children[0]
        return
    for child in children:
        yield from _atoms(child)


@dataclasses.dataclass(frozen=True)
class _Environment:
    python: tuple[int, ...]
    strings: Mapping[str, str]
    extras: frozenset[str]


def _python_test(atom: _Atom) -> Callable[[tuple[int, ...]], bool]:
    wildcard = atom.value.endswith(".*")
    release = _release_only(atom.value.removesuffix(".*"))
    if release is None or atom.op in ("===", "in", "not in"):
        raise _UndecidableError(f"marker `{atom.var} {atom.op} {atom.value!r}` is not modelled")
    if atom.var == "python_version" and len(release) > 2 and not wildcard:  # noqa: PLR2004
        raise _UndecidableError(f"marker `python_version {atom.op} {atom.value!r}`")
    try:
        specifier = Specifier(f"{atom.op}{atom.value}")
    except InvalidSpecifier as err:
        raise _UndecidableError(f"marker `{atom.var} {atom.op} {atom.value!r}`") from err
    if atom.var == "python_version":
        return lambda python: specifier.contains(f"{python[0]}.{python[1]}", prereleases=True)
    return lambda python: specifier.contains(".".join(map(str, python)), prereleases=True)


def _evaluator(node: _Node) -> Callable[[_Environment], bool]:
    kind, children = node
    if kind == "and":
        parts = [_evaluator(child) for child in children]
        return lambda env: all(part(env) for part in parts)
    if kind == "or":
        parts = [_evaluator(child) for child in children]
        return lambda env: any(part(env) for part in parts)
    atom: _Atom = children[0]
    equal = atom.op == "=="
    if atom.kind == "python":
        test = _python_test(atom)
        return lambda env: test(env.python)
    if atom.kind == "extra":
        return lambda env: (atom.value in env.extras) == equal
    return lambda env: (env.strings.get(atom.var) == atom.value) == equal


def _python_candidates(atoms: Iterable[_Atom]) -> set[tuple[int, ...]]:
    out: set[tuple[int, ...]] = set()
    for atom in atoms:
        release = _release_only(atom.value.removesuffix(".*")) or ()
        if not release:
            continue
        major, minor, patch = (*release, 0, 0)[:3]
        out.update({(major - 1, 99, 99), (major + 1, 0, 0), (major, minor, patch, 1)})
        for dminor in (-1, 0, 1):
            if minor + dminor < 0:
                continue
            for p in {0, patch - 1, patch, patch + 1, 99}:
                if p >= 0:
                    out.add((major, minor + dminor, p))
    return out


def _in_bounds(python: tuple[int, ...], bounds: tuple[_Cut, _Cut]) -> bool:
    release = _trim(python)
    return bounds[0] <= (release, 1) and (release, 2) <= bounds[1]


def _markers_equal(
    left: _Marker | None, right: _Marker | None, python_bounds: tuple[_Cut, _Cut]
) -> bool:
    if left == right or (left and right and left.tree == right.tree):
        return True
    trees = [m.tree for m in (left, right) if m is not None]
    atoms = [atom for tree in trees for atom in _atoms(tree)]
    tests = [(_evaluator(m.tree) if m else (lambda _env: True)) for m in (left, right)]
    string_vars = sorted({a.var for a in atoms if a.kind == "string"})
    if "platform_system" in string_vars and "sys_platform" in string_vars:
        raise _UndecidableError("markers on both platform_system and sys_platform")
    python_atoms = [a for a in atoms if a.kind == "python"]
    bound_atoms = [
        _Atom("python", "python_full_version", "==", ".".join(map(str, cut[0])))
        for cut in python_bounds
        if cut not in (_BELOW_ALL, _ABOVE_ALL)
    ]
    candidates = _python_candidates([*python_atoms, *bound_atoms])
    pythons = sorted(p for p in candidates if _in_bounds(p, python_bounds))
    if not python_atoms:
        pythons = [(3, 0, 0)]
    choices = [
        sorted({a.value for a in atoms if a.var == var} | {"\0other"}) for var in string_vars
    ]
    extras = sorted({a.value for a in atoms if a.kind == "extra"})
    count = max(len(pythons), 1) * (1 << len(extras))
    for values in choices:
        count *= len(values)
    if count > _MAX_ENVIRONMENTS:
        raise _UndecidableError("markers too large to compare")
    for python, strings, flags in itertools.product(
        pythons,
        itertools.product(*choices),
        itertools.product((False, True), repeat=len(extras)),
    ):
        env = _Environment(
            python=python,
            strings=dict(zip(string_vars, strings, strict=True)),
            extras=frozenset(e for e, on in zip(extras, flags, strict=True) if on),
        )
        if tests[0](env) != tests[1](env):
            return False
    return True


def _and_extra(marker: _Marker | None, extra: str) -> _Marker:
    atom: _Node = ("atom", (_Atom("extra", "extra", "==", extra),))
    if marker is None:
        return _Marker(text=f"extra == '{extra}'", tree=atom)
    return _Marker(
        text=f"({marker.text}) and extra == '{extra}'", tree=("and", (marker.tree, atom))
    )


# --- requirements ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Registry:
    specifiers: tuple[tuple[str, str], ...]
    index: str | None = None

    def describe(self) -> str:
        spec = ",".join(f"{op}{version}" for op, version in self.specifiers)
        return spec + (f" (index {self.index})" if self.index else "")


@dataclasses.dataclass(frozen=True)
class _Directory:
    path: str
    editable: bool
    virtual: bool

    def describe(self) -> str:
        kind = "editable" if self.editable else "virtual" if self.virtual else "directory"
        return f" @ {kind} {self.path}"


@dataclasses.dataclass(frozen=True)
class _File:
    path: str

    def describe(self) -> str:
        return f" @ {self.path}"


@dataclasses.dataclass(frozen=True)
class _Git:
    repository: str
    reference: tuple[str, str] | None
    subdirectory: str | None

    def describe(self) -> str:
        ref = f"@{self.reference[1]}" if self.reference else ""
        return f" @ git+{self.repository}{ref}"


@dataclasses.dataclass(frozen=True)
class _Url:
    url: str
    subdirectory: str | None

    def describe(self) -> str:
        return f" @ {self.url}"


_Source = _Registry | _Directory | _File | _Git | _Url


@dataclasses.dataclass(frozen=True)
class _Req:
    name: str
    extras: tuple[str, ...]
    marker: _Marker | None
    source: _Source

    def __str__(self) -> str:
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        marker = f"; {self.marker.text}" if self.marker else ""
        return f"{self.name}{extras}{self.source.describe()}{marker}"


def _registry_key(source: _Registry) -> tuple[object, ...] | None:
    """What uv compares of a registry requirement (``RequirementsKey``); None if not modelled."""
    specifiers = [Specifier(f"{op}{version}") for op, version in source.specifiers]
    ranges = _specifier_set_ranges(specifiers, release_only=False)
    if ranges is None:
        return None
    # Only plain release versions are modelled, so no specifier opts into pre-releases.
    return (ranges, _allows_yanked(source), source.index)


def _allows_yanked(source: _Registry) -> bool:
    """uv's ``allows_yanked``: exactly one specifier, an exact ``==`` (or ``===``) pin."""
    if len(source.specifiers) != 1:
        return False
    operator, version = source.specifiers[0]
    return operator in ("==", "===") and not version.endswith(".*")


def _sources_equal(left: _Source, right: _Source) -> bool:
    if isinstance(left, _Registry) and isinstance(right, _Registry):
        if left == right:
            return True
        indexes = (left.index or "", right.index or "")
        if left.index and right.index and indexes[0] != indexes[1]:
            if any(i.startswith("file:") for i in indexes):
                raise _UndecidableError(f"local indexes {indexes[0]!r} and {indexes[1]!r}")
            if indexes[0].rstrip("/") == indexes[1].rstrip("/"):
                raise _UndecidableError(f"indexes {indexes[0]!r} and {indexes[1]!r}")
        keys = (_registry_key(left), _registry_key(right))
        if keys[0] is None or keys[1] is None:
            raise _UndecidableError(f"specifiers {left.describe()!r} and {right.describe()!r}")
        return keys[0] == keys[1]
    return left == right


def _reqs_equal(left: _Req, right: _Req, python_bounds: tuple[_Cut, _Cut]) -> bool:
    return (
        left.name == right.name
        and left.extras == right.extras
        and _sources_equal(left.source, right.source)
        and _markers_equal(left.marker, right.marker, python_bounds)
    )


def _diff(
    expected: Sequence[_Req], actual: Sequence[_Req], python_bounds: tuple[_Cut, _Cut]
) -> tuple[list[_Req], list[_Req]]:
    """Requirements only in ``expected`` and only in ``actual``; raises if undecidable."""
    names = sorted({r.name for r in (*expected, *actual)})
    added: list[_Req] = []
    removed: list[_Req] = []
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
            except _UndecidableError as err:
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
        raise _UndecidableError(undecided[0])
    return added, removed


def _safe_equal(left: _Req, right: _Req, python_bounds: tuple[_Cut, _Cut]) -> bool:
    try:
        return _reqs_equal(left, right, python_bounds)
    except _UndecidableError:
        return False


def _mentions_extra(marker: _Marker | None) -> bool:
    return marker is not None and any(a.kind == "extra" for a in _atoms(marker.tree))


def _may_merge(left: _Req, right: _Req, python_bounds: tuple[_Cut, _Cut]) -> bool:
    """Whether uv's ``normalize_package_requirements`` could merge the two declarations.

    It merges declarations of one package with the same source (registry specifiers
    aside, unless one is an exact pin) and, when a marker names an extra, the same marker.
    """
    sources = (left.source, right.source)
    if isinstance(sources[0], _Registry) and isinstance(sources[1], _Registry):
        pins = tuple(_allows_yanked(s) for s in sources if isinstance(s, _Registry))
        if sources[0].index != sources[1].index or (any(pins) and sources[0] != sources[1]):
            return False
    elif sources[0] != sources[1]:
        return False
    if not (_mentions_extra(left.marker) or _mentions_extra(right.marker)):
        return True
    try:
        return _markers_equal(left.marker, right.marker, python_bounds)
    except _UndecidableError:
        return True


def _diff_several(
    mine: Sequence[_Req], theirs: Sequence[_Req], python_bounds: tuple[_Cut, _Cut]
) -> tuple[list[_Req], list[_Req], bool]:
    """Like ``_diff`` for one package declared several times: (added, removed, certain).

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


def _change(added: Sequence[_Req], removed: Sequence[_Req]) -> str:
    return ", ".join([*(f"+{r}" for r in added), *(f"-{r}" for r in removed)])


_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar")


def _join(base: str, path: str) -> str:
    if path.startswith("/"):
        return posixpath.normpath(path)
    return posixpath.normpath(posixpath.join(base, path))


def _git_repository(url: str) -> str:
    url = url.removeprefix("git+")
    url = url.split("#", 1)[0].split("?", 1)[0]
    return re.sub(r"^([a-z+]+://)[^@/]*@", r"\1", url)


def _lock_git(text: str) -> _Git:
    query = text.split("#", 1)[0].partition("?")[2]
    pairs = dict(p.partition("=")[::2] for p in query.split("&") if p)
    reference = next(((k, pairs[k]) for k in ("tag", "branch", "rev") if k in pairs), None)
    if "path" in pairs or pairs.get("lfs", "false").lower() == "true":
        raise _UndecidableError("a git source with `path` or `lfs`")
    return _Git(_git_repository(text), reference, pairs.get("subdirectory"))


_LOCK_REQUIREMENT_KEYS = frozenset(
    {
        "name",
        "extras",
        "marker",
        "specifier",
        "index",
        "editable",
        "directory",
        "virtual",
        "path",
        "git",
        "url",
        "subdirectory",
    }
)


def _lock_req(entry: object) -> _Req:
    """A requirement as ``uv.lock`` records it (``[package.metadata]``, ``[manifest]``)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise _UndecidableError("uv.lock has a requirement it does not understand")
    if not set(entry) <= _LOCK_REQUIREMENT_KEYS:
        unknown = sorted(set(entry) - _LOCK_REQUIREMENT_KEYS)
        raise _UndecidableError(f"a requirement in uv.lock with {', '.join(unknown)}")
    source: _Source
    if "editable" in entry:
        source = _Directory(_join(".", str(entry["editable"])), editable=True, virtual=False)
    elif "directory" in entry:
        source = _Directory(_join(".", str(entry["directory"])), editable=False, virtual=False)
    elif "virtual" in entry:
        source = _Directory(_join(".", str(entry["virtual"])), editable=False, virtual=True)
    elif "path" in entry:
        source = _File(_join(".", str(entry["path"])))
    elif "git" in entry:
        source = _lock_git(str(entry["git"]))
    elif "url" in entry:
        source = _Url(str(entry["url"]).split("#", 1)[0], entry.get("subdirectory"))
    else:
        specs = _parse_specifiers(str(entry.get("specifier", "")))
        index = entry.get("index")
        source = _Registry(
            tuple(sorted((s.operator, s.version) for s in specs)),
            str(index) if index is not None else None,
        )
    marker = entry.get("marker")
    return _Req(
        name=_norm(entry["name"]),
        extras=tuple(sorted({_norm(str(e)) for e in entry.get("extras", ())})),
        marker=_parse_marker(str(marker)) if marker else None,
        source=source,
    )


def _lock_reqs(entries: object) -> list[_Req]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise _UndecidableError("uv.lock has a requirement list it does not understand")
    return [_lock_req(entry) for entry in entries]


# --- the workspace --------------------------------------------------------------------------


def _uv(pyproject: Mapping[str, Any]) -> Mapping[str, Any]:
    tool = pyproject.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    return uv if isinstance(uv, dict) else {}


def _project(pyproject: Mapping[str, Any]) -> Mapping[str, Any] | None:
    project = pyproject.get("project")
    return project if isinstance(project, dict) else None


def _is_package(pyproject: Mapping[str, Any], *, require_build_system: bool) -> bool:
    """``PyProjectToml::is_package``: ``tool.uv.package``, else whether a build system exists."""
    package = _uv(pyproject).get("package")
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
class _Static:
    """What ``source_tree_requires_dist`` reads from a ``pyproject.toml`` without building."""

    version: str | None
    dynamic_version: bool
    requires_dist: list[_Req]
    provides_extras: frozenset[str]
    groups: dict[str, list[_Req]]
    self_referential: bool


class _Checker:
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
        self.python_bounds: tuple[_Cut, _Cut] = (_BELOW_ALL, _ABOVE_ALL)
        self.pyprojects: dict[str, Mapping[str, Any]] = {
            _join(".", path): data for path, data in local_packages.items()
        }
        self.members: dict[str, str] = {}  # name -> path
        for path, data in {".": pyproject, **members}.items():
            norm = _join(".", path)
            self.pyprojects[norm] = data
            project = _project(data)
            if project is None:
                if norm != ".":
                    raise _UndecidableError(f"workspace member {path} has no [project] table")
                continue
            if not isinstance(project.get("name"), str):
                raise _UndecidableError(f"workspace member {path} has no project name")
            self.members[_norm(project["name"])] = norm
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
        root_name = _project(self.root) or {}
        tables: list[tuple[str | None, Mapping[str, Any]]] = [
            (_norm(str(root_name.get("name", ""))), _uv(self.root).get("sources", {}))
        ]
        tables += [
            (name, _uv(self.member_pyproject(name)).get("sources", {}))
            for name, path in self.members.items()
            if path != "."
        ]
        for owner, sources in tables:
            if not isinstance(sources, dict):
                continue
            for raw_name, value in sources.items():
                name = _norm(raw_name)
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
            sources = _uv(self.root).get("sources", {})
            indexes = _uv(self.root).get("index", [])
            return _Project(path, pyproject, ".", sources, indexes, self.members)
        project = _project(pyproject) or {}
        own = {_norm(str(project.get("name", ""))): path}
        sources = _uv(pyproject).get("sources", {})
        return _Project(path, pyproject, path, sources, _uv(pyproject).get("index", []), own)

    # -- lowering (uv-distribution metadata/lowering.rs)

    def lower(self, text: str, project: _Project) -> _Req:
        try:
            parsed = Requirement(text)
        except InvalidRequirement as err:
            raise _UndecidableError(f"cannot parse the requirement {text!r}") from err
        name = _norm(parsed.name)
        marker = _parse_marker(str(parsed.marker)) if parsed.marker else None
        extras = tuple(sorted({_norm(e) for e in parsed.extras}))
        own_name = _norm(str((_project(project.pyproject) or {}).get("name", "")))
        own_sources = _uv(project.pyproject).get("sources", {})
        origin = project.path
        sources = own_sources if isinstance(own_sources, dict) else {}
        source = next((v for k, v in sources.items() if _norm(k) == name), None)
        if source is None and isinstance(project.workspace_sources, dict):
            source = next(
                (v for k, v in project.workspace_sources.items() if _norm(k) == name),
                None,
            )
            origin = project.workspace_root
        is_workspace = isinstance(source, dict) and source.get("workspace") is True
        if name in project.workspace_members and name != own_name and not is_workspace:
            raise _UndecidableError(f"{name} is a workspace member without a workspace source")
        if source is None:
            return _Req(name, extras, marker, _direct_source(parsed))
        if isinstance(source, list) or not isinstance(source, dict):
            raise _UndecidableError(f"several or unusual [tool.uv.sources] for {name}")
        if {"marker", "extra", "group"} & source.keys():
            raise _UndecidableError(
                f"a [tool.uv.sources] entry for {name} with a marker/extra/group"
            )
        specifiers = tuple(sorted((s.operator, s.version) for s in parsed.specifier))
        lowered = self.lower_source(name, source, project, origin, specifiers=specifiers)
        return _Req(name, extras, marker, lowered)

    def lower_source(
        self,
        name: str,
        source: Mapping[str, Any],
        project: _Project,
        origin: str,
        *,
        specifiers: tuple[tuple[str, str], ...] = (),
    ) -> _Source:
        if source.get("workspace") is True:
            path = project.workspace_members[name]
            is_package = _is_package(self.pyprojects[path], require_build_system=False)
            editable = self.required_members().get(name)
            if is_package and editable is not False:
                return _Directory(path, editable=True, virtual=False)
            return _Directory(path, editable=False, virtual=not is_package)
        if "path" in source:
            return self.path_source(str(source["path"]), source, origin)
        if "git" in source:
            return self.git_source(source)
        if "url" in source:
            subdirectory = source.get("subdirectory")
            return _Url(str(source["url"]), str(subdirectory) if subdirectory else None)
        if "index" in source:
            # An index source changes where the package comes from, not which versions:
            # uv keeps the requirement's specifier (`six>=1.16` from the named index).
            return _Registry(specifiers, self.index_url(str(source["index"]), project))
        raise _UndecidableError(f"the [tool.uv.sources] entry for {name}")

    def path_source(self, raw: str, source: Mapping[str, Any], origin: str) -> _Source:
        path = _join(origin, raw)
        if path.endswith(_ARCHIVE_SUFFIXES):
            return _File(path)
        if source.get("editable") is True:
            return _Directory(path, editable=True, virtual=False)
        package = source.get("package")
        if not isinstance(package, bool):
            target = self.pyprojects.get(path)
            if target is None:
                raise _UndecidableError(f"the pyproject.toml of the path dependency {path}")
            package = _is_package(target, require_build_system=False)
        return _Directory(path, editable=False, virtual=not package)

    def git_source(self, source: Mapping[str, Any]) -> _Git:
        if source.get("lfs") or "path" in source:
            raise _UndecidableError("a git source with `path` or `lfs`")
        reference = next(
            ((key, str(source[key])) for key in ("tag", "branch", "rev") if key in source), None
        )
        subdirectory = source.get("subdirectory")
        return _Git(
            _git_repository(str(source["git"])),
            reference,
            str(subdirectory) if subdirectory else None,
        )

    def index_url(self, name: str, project: _Project) -> str:
        for table in (_uv(project.pyproject).get("index", []), project.workspace_indexes):
            for index in table if isinstance(table, list) else []:
                if isinstance(index, dict) and index.get("name") == name:
                    url = str(index.get("url", ""))
                    # uv records a local index as an absolute file:// URL, which
                    # cannot be matched from the files alone (see _sources_equal).
                    return url if "://" in url else f"file:{_join(project.path, url)}"
        raise _UndecidableError(f"the index {name!r} is not defined")

    # -- static metadata (RequiresDist::from_pyproject_toml, FlatDependencyGroups)

    def static(self, path: str) -> _Static | None:
        project = self.project_for(path)
        if project is None:
            self.note(f"the pyproject.toml of {path} was not given")
            return None
        table = _project(project.pyproject)
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
        own = _norm(str(table.get("name", "")))
        requires = [self.lower(str(text), project) for text in table.get("dependencies", [])]
        optional = table.get("optional-dependencies", {})
        for extra, texts in optional.items():
            for text in texts:
                req = self.lower(str(text), project)
                requires.append(
                    dataclasses.replace(req, marker=_and_extra(req.marker, _norm(extra)))
                )
        version = table.get("version")
        return _Static(
            version=str(version) if version is not None else None,
            dynamic_version="version" in dynamic,
            requires_dist=requires,
            provides_extras=frozenset(_norm(e) for e in optional),
            groups=self.groups(project),
            self_referential=any(r.name == own for r in requires),
        )

    def groups(self, project: _Project) -> dict[str, list[_Req]]:
        pyproject = project.pyproject
        settings = _uv(pyproject).get("dependency-groups")
        if settings:
            raise _UndecidableError("[tool.uv.dependency-groups] (group requires-python)")
        raw = pyproject.get("dependency-groups", {})
        declared = {_norm(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}
        flat: dict[str, list[str]] = {}

        def resolve(group: str, parents: tuple[str, ...]) -> list[str]:
            if group in parents or group not in declared:
                raise _UndecidableError(f"dependency group {group!r} (missing or a cycle)")
            if group not in flat:
                items: list[str] = []
                for item in declared[group]:
                    if isinstance(item, str):
                        items.append(item)
                    elif isinstance(item, dict) and set(item) == {"include-group"}:
                        items += resolve(_norm(item["include-group"]), (*parents, group))
                    else:
                        raise _UndecidableError(f"dependency group {group!r} entry {item!r}")
                flat[group] = items
            return flat[group]

        for group in declared:
            resolve(group, ())
        legacy = _uv(pyproject).get("dev-dependencies")
        if isinstance(legacy, list):
            flat.setdefault("dev", [])
            flat["dev"] = [*flat["dev"], *map(str, legacy)]
        return {
            group: [self.lower(text, project) for text in texts] for group, texts in flat.items()
        }

    # -- the checks, in uv's order

    def run(self) -> None:
        version = self.lock.get("version")
        if version != 1:
            raise _UndecidableError(f"uv.lock version {version!r} (uv {UV_VERSION} reads 1)")
        revision = self.lock.get("revision", 0)
        self.revision = revision if isinstance(revision, int) else 0
        settings_elsewhere = self.check_settings_sources()
        self.read_lock_python()
        for settings_check in (self.check_options, self.check_environments, self.check_conflicts):
            self.settings_check(settings_check, settings_elsewhere=settings_elsewhere)
        self.check_requires_python()
        self.check_members()
        self.check_default_groups()
        self.check_group_metadata()
        self.check_virtual_editable()
        self.settings_check(self.check_manifest, settings_elsewhere=settings_elsewhere)
        self.check_packages()

    def settings_check(self, check: Callable[[], None], *, settings_elsewhere: bool) -> None:
        """Run a check of ``[tool.uv]`` settings; with a ``uv.toml``, a difference is unknown."""
        try:
            check()
        except _StaleError as stale:
            if not settings_elsewhere:
                raise
            self.note(f"{stale} (but uv.toml may set it)")

    def check_settings_sources(self) -> bool:
        """Whether the root's ``uv.toml`` sets what this module reads from ``[tool.uv]``."""
        modelled = {
            "resolution",
            "prerelease",
            "fork-strategy",
            "exclude-newer",
            "exclude-newer-package",
            "environments",
            "required-environments",
            "conflicts",
            "constraint-dependencies",
            "override-dependencies",
            "exclude-dependencies",
            "build-constraint-dependencies",
            "dependency-metadata",
            "index",
            "index-url",
            "extra-index-url",
            "find-links",
            "sources",
            "minimum-libc-version",
        }
        return bool(modelled & set(self.uv_toml))

    def check_options(self) -> None:
        options = self.lock.get("options", {})
        if not isinstance(options, dict):
            options = {}
        settings = _uv(self.root)
        pairs = (
            ("resolution", "resolution-mode", "highest"),
            ("prerelease", "prerelease-mode", "if-necessary"),
            ("fork-strategy", "fork-strategy", "requires-python"),
        )
        for key, lock_key, default in pairs:
            wanted = settings.get(key, default)
            locked = options.get(lock_key, default)
            if "if-necessary-or-explicit" in (wanted, locked) and wanted != locked:
                self.note(f"{key} {wanted!r} against {locked!r} in uv.lock")
            elif wanted != locked:
                raise _StaleError(
                    f"{key} is {wanted!r} in pyproject.toml but {locked!r} in uv.lock"
                )
        other = set(options) - {lock_key for _, lock_key, _ in pairs} - {"exclude-newer"}
        if other or {"exclude-newer-package", "minimum-libc-version"} & set(settings):
            self.note(f"the resolver options {sorted(other)} are not modelled")
        self.check_exclude_newer(settings.get("exclude-newer"), options.get("exclude-newer"))

    def check_exclude_newer(self, wanted: object, locked: object) -> None:
        """``ExcludeNewer::compare``: added, removed, or moved earlier invalidates the lock."""
        if wanted is None and locked is None:
            return
        if wanted is None or locked is None:
            state = "added to" if locked is None else "removed from"
            raise _StaleError(f"exclude-newer was {state} [tool.uv] since uv.lock was written")
        instants = (_instant(wanted), _instant(locked))
        if instants[0] is None or instants[1] is None:
            self.note(f"exclude-newer {wanted!r} against {locked!r} is not modelled")
        elif instants[0] < instants[1]:
            raise _StaleError(
                f"exclude-newer is {wanted!r} in pyproject.toml, earlier than {locked!r} in uv.lock"
            )

    def marker_list(self, value: object) -> list[_Marker]:
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [_parse_marker(str(item)) for item in items]

    def check_environments(self) -> None:
        settings = _uv(self.root)
        for key, lock_key in (
            ("environments", "supported-markers"),
            ("required-environments", "required-markers"),
        ):
            wanted = self.marker_list(settings.get(key))
            locked = self.marker_list(self.lock.get(lock_key))
            if len(wanted) != len(locked):
                raise _StaleError(f"[tool.uv] {key} changed since uv.lock was written")
            try:
                same = all(
                    _markers_equal(a, b, self.python_bounds)
                    for a, b in zip(wanted, locked, strict=True)
                )
            except _UndecidableError as err:
                self.note(f"[tool.uv] {key}: {err}")
                continue
            if not same:
                raise _StaleError(f"[tool.uv] {key} changed since uv.lock was written")

    def check_conflicts(self) -> None:
        """``Workspace::conflicts`` against the lock's ``conflicts`` (a list of sets)."""
        owners: list[tuple[str | None, Mapping[str, Any]]] = []
        if self.non_project:
            owners.append((None, self.root))
        owners += [(name, self.pyprojects[self.members[name]]) for name in sorted(self.members)]
        declared = [
            _conflict_set(conflict, owner)
            for owner, pyproject in owners
            for conflict in _uv(pyproject).get("conflicts", [])
        ]
        recorded = [_conflict_set(conflict, None) for conflict in self.lock.get("conflicts", [])]
        if declared != recorded:
            if sorted(declared, key=sorted) == sorted(recorded, key=sorted):
                self.note("[tool.uv] conflicts listed in another order")
                return
            raise _StaleError("[tool.uv] conflicts changed since uv.lock was written")

    def read_lock_python(self) -> None:
        locked = self.lock.get("requires-python")
        if not isinstance(locked, str):
            raise _UndecidableError("uv.lock has no requires-python")
        lock_ranges = _specifier_set_ranges(_parse_specifiers(locked), release_only=True)
        if lock_ranges is None:
            raise _UndecidableError(f"requires-python {locked!r} in uv.lock is not modelled")
        self.python_bounds = _bounds(lock_ranges)

    def check_requires_python(self) -> None:
        declared: list[str] = []
        for path in sorted(self.members.values()):
            value = (_project(self.pyprojects[path]) or {}).get("requires-python")
            if isinstance(value, str):
                declared.append(value)
        locked = str(self.lock.get("requires-python"))
        if not declared:
            self.note("no requires-python in pyproject.toml: uv uses the interpreter's version")
            return
        ranges = _FULL
        for text in declared:
            one = _specifier_set_ranges(_parse_specifiers(text), release_only=True)
            if one is None:
                raise _UndecidableError(f"requires-python {text!r} is not modelled")
            ranges = _intersect(ranges, one)
        if not ranges:
            raise _UndecidableError("the members' requires-python do not intersect (uv fails)")
        if _bounds(ranges) != self.python_bounds:
            shown = " and ".join(dict.fromkeys(declared))
            raise _StaleError(
                f"requires-python is {shown!r} in pyproject.toml but {locked!r} in uv.lock"
            )

    def manifest(self) -> Mapping[str, Any]:
        manifest = self.lock.get("manifest", {})
        return manifest if isinstance(manifest, dict) else {}

    def check_members(self) -> None:
        names = set(self.members)
        expected = names if (len(names) > 1 or self.non_project) else set()
        actual = {_norm(str(n)) for n in self.manifest().get("members", [])}
        if expected != actual:
            change = ", ".join(
                [
                    *(f"+{n}" for n in sorted(expected - actual)),
                    *(f"-{n}" for n in sorted(actual - expected)),
                ]
            )
            raise _StaleError(f"workspace members changed since uv.lock was written ({change})")

    def find(self, name: str) -> dict[str, Any] | None:
        found = [p for p in self.packages if _norm(str(p.get("name", ""))) == name]
        if len(found) > 1:
            raise _UndecidableError(f"uv.lock has several packages named {name}")
        return found[0] if found else None

    def check_default_groups(self) -> None:
        if self.revision < 5:  # noqa: PLR2004 (DEFAULT_GROUPS_REVISION)
            return

        def nonstandard(groups: object) -> object:
            if isinstance(groups, list):
                normalized = [_norm(str(g)) for g in groups]
                return None if normalized == ["dev"] else normalized
            return groups

        expected: dict[str, object] = {}
        actual: dict[str, object] = {}
        for name, path in self.members.items():
            configured = nonstandard(_uv(self.pyprojects[path]).get("default-groups"))
            if configured is not None:
                expected[name] = configured
            package = self.find(name)
            recorded = nonstandard(package.get("default-groups")) if package else None
            if recorded is not None:
                actual[name] = recorded
        if expected != actual:
            raise _StaleError("default-groups changed since uv.lock was written")
        if self.non_project:
            wanted = _uv(self.root).get("default-groups", ["dev"])
            locked = self.manifest().get("default-groups", ["dev"])
            if nonstandard(wanted) != nonstandard(locked):
                raise _StaleError("default-groups of the workspace root changed since uv.lock")

    def check_group_metadata(self) -> None:
        recorded = bool(self.manifest().get("group-requires-python"))
        if self.revision >= 5:  # noqa: PLR2004 (MEMBER_GROUP_METADATA_REVISION)
            for name in self.members:
                package = self.find(name)
                recorded = recorded or bool(package and package.get("group-requires-python"))
        owners = [self.pyprojects[p] for p in self.members.values()]
        if self.non_project:
            owners.append(self.root)
        if any(_uv(owner).get("dependency-groups") for owner in owners):
            self.note("[tool.uv.dependency-groups] requires-python is not compared")
        elif recorded:
            raise _StaleError("a dependency group's requires-python was removed since uv.lock")

    def check_virtual_editable(self) -> None:
        required = self.required_members()
        for name, path in sorted(self.members.items()):
            package = self.find(name)
            source = package.get("source", {}) if package else {}
            is_required = name in required
            virtual = not _is_package(self.pyprojects[path], require_build_system=not is_required)
            editable = False if virtual else required.get(name) is not False
            if package is None:
                continue  # MissingRoot, reported with the packages
            if ("virtual" in source) != virtual:
                state = "now" if virtual else "no longer"
                raise _StaleError(
                    f"{name} is {state} a virtual project (not built and installed) "
                    "since uv.lock was written"
                )
            if ("editable" in source) != editable:
                state = "now" if editable else "no longer"
                raise _StaleError(f"{name} is {state} editable since uv.lock was written")

    def root_groups(self) -> dict[str, list[_Req]]:
        if not self.non_project:
            return {}
        project = _Project(
            ".",
            self.root,
            ".",
            _uv(self.root).get("sources", {}),
            _uv(self.root).get("index", []),
            self.members,
        )
        return self.groups(project)

    def check_manifest(self) -> None:
        manifest = self.manifest()
        if _lock_reqs(manifest.get("requirements")):
            raise _StaleError("uv.lock records requirements the workspace no longer has")
        locked_names = {_norm(str(p.get("name", ""))) for p in self.packages}
        settings = _uv(self.root)
        for key, lock_key in (
            ("constraint-dependencies", "constraints"),
            ("override-dependencies", "overrides"),
            ("build-constraint-dependencies", "build-constraints"),
        ):
            recorded = _lock_reqs(manifest.get(lock_key))
            names = locked_names | {r.name for r in recorded}
            declared = [self.plain(str(t)) for t in settings.get(key, [])]
            if key != "build-constraint-dependencies":
                declared = [r for r in declared if r.name in names]
            if key == "constraint-dependencies":
                declared = [
                    dataclasses.replace(r, extras=())
                    for r in declared
                    if not (isinstance(r.source, _Registry) and not r.source.specifiers)
                ]
            self.compare(declared, recorded, f"[tool.uv] {key}")
        excludes = _names(settings.get("exclude-dependencies", []), "exclude-dependencies")
        recorded_excludes = _names(manifest.get("excludes", []), "excludes in uv.lock")
        excludes &= locked_names | recorded_excludes
        if excludes != recorded_excludes:
            raise _StaleError("[tool.uv] exclude-dependencies changed since uv.lock was written")
        if settings.get("dependency-metadata") or manifest.get("dependency-metadata"):
            self.note("[tool.uv] dependency-metadata is not compared")
        groups = {g: r for g, r in self.root_groups().items() if r}
        raw = manifest.get("dependency-groups", {})
        recorded_groups = {_norm(g): _lock_reqs(r) for g, r in raw.items()}
        recorded_groups = {g: r for g, r in recorded_groups.items() if r}
        self.compare_groups(groups, recorded_groups, "the workspace root")

    def plain(self, text: str) -> _Req:
        try:
            parsed = Requirement(text)
        except InvalidRequirement as err:
            raise _UndecidableError(f"cannot parse {text!r}") from err
        if parsed.url:
            raise _UndecidableError(f"the direct reference {text!r} in [tool.uv]")
        name = _norm(parsed.name)
        if name in {_norm(k) for k in _uv(self.root).get("sources", {})}:
            raise _UndecidableError(f"{name} has a source and a [tool.uv] constraint or override")
        return _Req(
            name,
            tuple(sorted({_norm(e) for e in parsed.extras})),
            _parse_marker(str(parsed.marker)) if parsed.marker else None,
            _Registry(tuple(sorted((s.operator, s.version) for s in parsed.specifier))),
        )

    def compare(self, expected: Sequence[_Req], actual: Sequence[_Req], what: str) -> None:
        try:
            added, removed = _diff(expected, actual, self.python_bounds)
        except _UndecidableError as err:
            self.note(f"{what}: {err}")
            return
        if added or removed:
            raise _StaleError(
                f"{what} changed since uv.lock was written ({_change(added, removed)})"
            )

    def compare_groups(
        self, expected: Mapping[str, list[_Req]], actual: Mapping[str, list[_Req]], owner: str
    ) -> None:
        for group in sorted(set(expected) | set(actual)):
            if group not in expected or group not in actual:
                state = "added" if group in expected else "removed"
                raise _StaleError(
                    f"dependency group {group!r} of {owner} was {state} since uv.lock was written"
                )
            self.compare(expected[group], actual[group], f"dependency group {group!r} of {owner}")

    # -- the locked packages (Lock::satisfies's queue)

    def check_packages(self) -> None:
        queue: list[dict[str, Any]] = []
        for name in sorted(self.members):
            package = self.find(name)
            if package is None:
                what = "workspace member" if len(self.members) > 1 else "project"
                raise _StaleError(f"uv.lock has no entry for the {what} {name!r}")
            queue.append(package)
        for reqs in self.root_groups().values():
            for req in reqs:
                for package in self.packages:
                    if _norm(str(package.get("name", ""))) != req.name:
                        continue
                    if _tree_path(package) is not None:
                        if req.marker is not None:
                            self.note(f"{req.name} is required only where {req.marker.text}")
                        queue.append(package)
        seen: set[int] = set()
        while queue:
            package = queue.pop(0)
            if id(package) in seen:
                continue
            seen.add(id(package))
            if self.check_package(package):
                queue.extend(self.dependencies(package))

    def dependencies(self, package: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        entries = list(package.get("dependencies", []))
        for table in ("optional-dependencies", "dev-dependencies"):
            for deps in (package.get(table) or {}).values():
                entries += deps
        for entry in entries:
            name = _norm(str(entry.get("name", "")))
            candidates = [
                p
                for p in self.packages
                if _norm(str(p.get("name", ""))) == name
                and entry.get("version", p.get("version")) == p.get("version")
                and entry.get("source", p.get("source")) == p.get("source")
            ]
            yield from candidates[:1]

    def check_package(self, package: Mapping[str, Any]) -> bool:
        """Validate one locked package; False when uv does not descend into it."""
        name = _norm(str(package.get("name", "")))
        source = package.get("source", {})
        if not isinstance(source, dict):
            raise _UndecidableError(f"the source of {name} in uv.lock")
        if "registry" in source:
            self.check_index(name, str(source["registry"]))
            return False
        if "git" in source:
            return False
        if "url" in source:
            return True  # offline, uv keeps the recorded metadata; online it is the same archive
        path = _tree_path(package)
        if path is None:
            self.note(f"{name} is a local archive; uv reads its metadata to compare")
            return False
        static = self.static(path)
        if static is None:
            return True
        version = package.get("version")
        if version is not None:
            self.check_static_version(name, str(version), static)
        elif not static.dynamic_version:
            raise _StaleError(
                f"the version of {name} is no longer dynamic since uv.lock was written"
            )
        self.check_metadata(name, package, static)
        return True

    def check_static_version(self, name: str, version: str, static: _Static) -> None:
        if static.dynamic_version:
            raise _StaleError(f"the version of {name} is dynamic now; uv.lock has {version}")
        if static.version is None:
            self.note(f"{name} has no version in pyproject.toml; uv builds it to know")
            return
        try:
            same = Version(static.version) == Version(version)
        except InvalidVersion:
            same = static.version == version
        if not same:
            raise _StaleError(
                f"the version of {name} is {static.version} in pyproject.toml "
                f"but {version} in uv.lock"
            )

    def check_metadata(self, name: str, package: Mapping[str, Any], static: _Static) -> None:
        metadata = package.get("metadata", {})
        if not isinstance(metadata, dict):
            metadata = {}
        if self.revision >= 1:
            recorded = frozenset(_norm(str(e)) for e in metadata.get("provides-extras", []))
            if recorded != static.provides_extras:
                change = ", ".join(
                    [
                        *(f"+{e}" for e in sorted(static.provides_extras - recorded)),
                        *(f"-{e}" for e in sorted(recorded - static.provides_extras)),
                    ]
                )
                raise _StaleError(
                    f"extras of {name!r} changed since uv.lock was written ({change})"
                )
        recorded_reqs = _lock_reqs(metadata.get("requires-dist"))
        try:
            added, removed = _diff(static.requires_dist, recorded_reqs, self.python_bounds)
        except _UndecidableError as err:
            self.note(f"dependencies of {name!r}: {err}")
            added, removed = [], []
        if (added or removed) and static.dynamic_version and static.self_referential:
            self.note(f"dependencies of {name!r}: a build may flatten its self-referencing extras")
        elif added or removed:
            raise _StaleError(
                f"dependencies of {name!r} changed since uv.lock was written "
                f"({_change(added, removed)})"
            )
        raw = metadata.get("requires-dev", metadata.get("dependency-groups", {}))
        recorded_groups = {_norm(g): _lock_reqs(r) for g, r in raw.items()}
        groups = static.groups
        if self.revision < 1:
            groups = {g: r for g, r in groups.items() if r}
            recorded_groups = {g: r for g, r in recorded_groups.items() if r}
        self.compare_groups(groups, recorded_groups, repr(name))

    def check_index(self, name: str, registry: str) -> None:
        declared = [i for i in _uv(self.root).get("index", []) if isinstance(i, dict)]
        if not declared:
            return  # uv skips the check when no index is configured
        allowed = {_index_location(str(i.get("url", ""))) for i in declared}
        if not any(i.get("default") for i in declared):
            allowed.add("https://pypi.org/simple")
        if _index_location(registry) not in allowed:
            self.note(f"{name} comes from {registry}, an index pyproject.toml does not list")


def _index_location(url: str) -> str:
    """An index as the lock's ``registry`` names it: a URL, or a path from the root."""
    return url.rstrip("/") if "://" in url else _join(".", url)


def _conflict_set(items: object, owner: str | None) -> frozenset[tuple[str, str, str]]:
    """One set of ``conflicts``: (package, "extra" | "group" | "project", name) items."""
    if not isinstance(items, list):
        raise _UndecidableError("a [tool.uv] conflicts entry that is not a list")
    out: set[tuple[str, str, str]] = set()
    for item in items:
        if not isinstance(item, dict) or not set(item) <= {"package", "extra", "group"}:
            raise _UndecidableError(f"the conflict item {item!r}")
        package = item.get("package", owner)
        if not isinstance(package, str):
            raise _UndecidableError(f"the conflict item {item!r} names no package")
        kind = "extra" if "extra" in item else "group" if "group" in item else "project"
        out.add((_norm(package), kind, _norm(str(item.get(kind, "")))))
    return frozenset(out)


def _instant(value: object) -> dt.datetime | None:
    """An RFC 3339 timestamp with its offset; dates and relative spans are not modelled."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _names(values: object, what: str) -> set[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _UndecidableError(f"{what} that are not plain package names")
    return {_norm(v) for v in values}


def _direct_git(url: str) -> _Git:
    """``name @ git+https://host/repo.git@ref#subdirectory=dir`` as uv lowers it."""
    url, _, fragment = url.removeprefix("git+").partition("#")
    fragments = dict(p.partition("=")[::2] for p in fragment.split("&") if p)
    if set(fragments) - {"subdirectory", "egg"}:
        raise _UndecidableError(f"the direct git reference {url!r} with #{fragment}")
    scheme, _, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    path, _, ref = path.partition("@")
    subdirectory = fragments.get("subdirectory")
    return _Git(
        _git_repository(f"{scheme}://{netloc}{slash}{path}"),
        ("rev", ref) if ref else None,
        subdirectory or None,
    )


def _direct_source(parsed: Requirement) -> _Source:
    """A requirement without a ``[tool.uv.sources]`` entry: registry, or its own URL."""
    if not parsed.url:
        return _Registry(tuple(sorted((s.operator, s.version) for s in parsed.specifier)))
    if parsed.url.startswith("git+"):
        return _direct_git(parsed.url)
    if parsed.url.startswith(("https://", "http://")) and "#" not in parsed.url:
        return _Url(parsed.url, None)
    raise _UndecidableError(f"the direct reference {parsed.url!r}")


def _tree_path(package: Mapping[str, Any]) -> str | None:
    source = package.get("source", {})
    for key in ("editable", "directory", "virtual"):
        if isinstance(source, dict) and key in source:
            return _join(".", str(source[key]))
    return None


def check_freshness(
    *,
    lock_data: Mapping[str, Any],
    pyproject: Mapping[str, Any],
    members: Mapping[str, Mapping[str, Any]] | None = None,
    local_packages: Mapping[str, Mapping[str, Any]] | None = None,
    uv_toml: Mapping[str, Any] | None = None,
) -> Freshness:
    """Does ``uv.lock`` (parsed) satisfy the workspace, by ``uv lock --check``'s rules?

    ``pyproject`` is the workspace root's; ``members`` maps every other member's
    path relative to the root (posix, e.g. ``"packages/api"``) to its parsed
    ``pyproject.toml``; ``local_packages`` does the same for local directory
    dependencies that are not members (uv validates those too); ``uv_toml`` is
    the root's parsed ``uv.toml``, if any. Nothing is read from disk.
    """
    try:
        checker = _Checker(
            lock=lock_data,
            pyproject=pyproject,
            members=members or {},
            local_packages=local_packages or {},
            uv_toml=uv_toml,
        )
        checker.run()
    except _StaleError as stale:
        return Freshness(state="stale", reason=str(stale))
    except _UndecidableError as err:
        return Freshness(state="unknown", reason=f"cannot tell whether uv.lock is current: {err}")
    if checker.unknown:
        return Freshness(
            state="unknown", reason=f"cannot tell whether uv.lock is current: {checker.unknown[0]}"
        )
    return Freshness(state="fresh")


def _read(path: Path) -> dict[str, Any] | None:
    """A pyproject.toml, uv.lock or uv.toml, checked against its schema; None if absent."""
    if not os.path.lexists(path):
        return None
    if path.name == "uv.lock":
        return read_lock(path)[0]
    if path.name == "uv.toml":
        return read_uv_toml(path)
    return read_pyproject(path)[0]


def check_workspace_freshness(
    root: Path, *, lock_data: Mapping[str, Any] | None = None
) -> Freshness:
    """``check_freshness`` for the workspace at ``root`` (which holds ``uv.lock``), from disk.

    Reads the root's ``pyproject.toml``, ``uv.lock`` (unless the caller parsed it
    already: ``lock_data``; an ML project's lock runs to megabytes) and ``uv.toml``,
    the members' ``pyproject.toml`` (``[tool.uv.workspace]``) and those of the local
    directory packages the lock or the sources name.
    """
    pyproject = _read(root / "pyproject.toml") or {}
    lock = lock_data if lock_data is not None else _read(root / "uv.lock")
    if lock is None:
        return Freshness(state="unknown", reason="there is no uv.lock")
    members = {m.path.as_posix(): m.pyproject for m in workspace_members(root, pyproject)}
    local: dict[str, Mapping[str, Any]] = {}
    wanted = [p for p in map(_tree_path, lock.get("package", [])) if p is not None]
    projects: list[tuple[str, Mapping[str, Any]]] = [(".", pyproject), *members.items()]
    while projects:
        base, data = projects.pop()
        for value in (_uv(data).get("sources") or {}).values():
            for source in value if isinstance(value, list) else [value]:
                if isinstance(source, dict) and "path" in source:
                    wanted.append(_join(base, str(source["path"])))
        while wanted:
            path = wanted.pop()
            if path in local or path in members or path == ".":
                continue
            found = _read(root / path / "pyproject.toml")
            if found is not None:
                local[path] = found
                projects.append((path, found))
    return check_freshness(
        lock_data=lock,
        pyproject=pyproject,
        members=members,
        local_packages=local,
        uv_toml=_read(root / "uv.toml"),
    )
