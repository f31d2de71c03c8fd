"""PEP 508 markers compared by their meaning (uv's decision diagrams), on every
environment that can tell them apart."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from packaging.specifiers import InvalidSpecifier, Specifier

from uvdock.project.freshness.base import UndecidableError, normalize
from uvdock.project.freshness.ranges import ABOVE_ALL, BELOW_ALL, Cut, plain_release, trim

__all__ = ["Marker", "and_extra", "marker_atoms", "markers_equal", "parse_marker"]

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
class Marker:
    text: str
    tree: _Node


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise UndecidableError(f"cannot parse the marker {text!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


def _atom(left: tuple[str, str], op: str, right: tuple[str, str]) -> _Atom:
    op = re.sub(r"\s+", " ", op)
    if left[0] == "string" and right[0] == "name":
        if op not in _FLIPPED:
            raise UndecidableError(f"marker operator {op!r} with the value first")
        left, right, op = right, left, _FLIPPED[op]
    if left[0] != "name" or right[0] != "string":
        raise UndecidableError("marker comparison of two variables or two strings")
    var = _ALIASES.get(left[1], left[1])
    value = right[1][1:-1]
    if var in _PYTHON_VARS:
        return _Atom("python", var, op, value)
    if var == "extra":
        if op not in ("==", "!="):
            raise UndecidableError(f"marker `extra {op}`")
        return _Atom("extra", var, op, normalize(value))
    if var in _STRING_VARS and op in ("==", "!="):
        if var == "platform_system" and value in _PLATFORM_SYSTEM:
            return _Atom("string", "sys_platform", op, _PLATFORM_SYSTEM[value])
        return _Atom("string", var, op, value)
    raise UndecidableError(f"marker `{var} {op} ...` is not modelled")


def parse_marker(text: str) -> Marker:
    tokens = _tokens(text)
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal position
        if position >= len(tokens):
            raise UndecidableError(f"cannot parse the marker {text!r}")
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
                raise UndecidableError(f"cannot parse the marker {text!r}")
            return node
        op = take()
        if op[0] != "op":
            raise UndecidableError(f"cannot parse the marker {text!r}")
        return ("atom", (_atom(token, op[1], take()),))

    tree = expression("or")
    if position != len(tokens):
        raise UndecidableError(f"cannot parse the marker {text!r}")
    return Marker(text=text, tree=tree)


def marker_atoms(node: _Node) -> Iterator[_Atom]:
    kind, children = node
    if kind == "atom":
        yield children[0]
        return
    for child in children:
        yield from marker_atoms(child)


@dataclasses.dataclass(frozen=True)
class _Environment:
    python: tuple[int, ...]
    strings: Mapping[str, str]
    extras: frozenset[str]


def _python_test(atom: _Atom) -> Callable[[tuple[int, ...]], bool]:
    wildcard = atom.value.endswith(".*")
    release = plain_release(atom.value.removesuffix(".*"))
    if release is None or atom.op in ("===", "in", "not in"):
        raise UndecidableError(f"marker `{atom.var} {atom.op} {atom.value!r}` is not modelled")
    if atom.var == "python_version" and len(release) > 2 and not wildcard:  # noqa: PLR2004
        raise UndecidableError(f"marker `python_version {atom.op} {atom.value!r}`")
    try:
        specifier = Specifier(f"{atom.op}{atom.value}")
    except InvalidSpecifier as err:
        raise UndecidableError(f"marker `{atom.var} {atom.op} {atom.value!r}`") from err
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
        release = plain_release(atom.value.removesuffix(".*")) or ()
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


def _in_bounds(python: tuple[int, ...], bounds: tuple[Cut, Cut]) -> bool:
    release = trim(python)
    return bounds[0] <= (release, 1) and (release, 2) <= bounds[1]


def markers_equal(
    left: Marker | None, right: Marker | None, python_bounds: tuple[Cut, Cut]
) -> bool:
    if left == right or (left and right and left.tree == right.tree):
        return True
    trees = [m.tree for m in (left, right) if m is not None]
    atoms = [atom for tree in trees for atom in marker_atoms(tree)]
    tests = [(_evaluator(m.tree) if m else (lambda _env: True)) for m in (left, right)]
    string_vars = sorted({a.var for a in atoms if a.kind == "string"})
    if "platform_system" in string_vars and "sys_platform" in string_vars:
        raise UndecidableError("markers on both platform_system and sys_platform")
    python_atoms = [a for a in atoms if a.kind == "python"]
    bound_atoms = [
        _Atom("python", "python_full_version", "==", ".".join(map(str, cut[0])))
        for cut in python_bounds
        if cut not in (BELOW_ALL, ABOVE_ALL)
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
        raise UndecidableError("markers too large to compare")
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


def and_extra(marker: Marker | None, extra: str) -> Marker:
    atom: _Node = ("atom", (_Atom("extra", "extra", "==", extra),))
    if marker is None:
        return Marker(text=f"extra == '{extra}'", tree=atom)
    return Marker(text=f"({marker.text}) and extra == '{extra}'", tree=("and", (marker.tree, atom)))
