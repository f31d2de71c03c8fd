"""A small declarative schema for the TOML documents uvdock reads, checked once at the door.

``tomllib`` hands back any TOML value at any key: ``dependencies = 5`` parses
as well as ``dependencies = ["flask"]``. Code that reads
``project["dependencies"]`` would need an ``isinstance`` check at every use,
and each forgotten one was a traceback. Instead, each kind of file declares
the shapes of the keys uvdock reads (:mod:`uvdock.project.documents`), the
document is checked against it where it is read, and the readers after that
can trust the types. Keys uvdock does not read are not described, so they are
not checked: uv itself is the judge of those.

Why not JSON Schema: ``jsonschema`` is a development dependency only, its
messages do not carry TOML lines, and uvdock also checks grammars (a PEP 508
requirement, a path inside the project) that are one function each here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from uvdock._toml import line_of_key
from uvdock.errors import ConfigError
from uvdock.grammar import first_control

# What a value's grammar check returns: what is wrong with it, or None.
Grammar = Callable[[str], str | None]


def control_character(text: str) -> str | None:
    """What is wrong with ``text`` if it holds a control character (newline, NUL, ...).

    Any of them in a value that reaches a generated file or a one-line message
    breaks it; a tab is only white space. The set is grammar.py's, shared with
    the settings and the renderers.
    """
    found = first_control(text, tab=True)
    return None if found is None else f"contains a control character ({found!r})"


@dataclasses.dataclass(frozen=True)
class Str:
    """A string; one line unless ``multiline``, and obeying ``grammar`` when given."""

    grammar: Grammar | None = None
    multiline: bool = False
    what: str = "a string"


@dataclasses.dataclass(frozen=True)
class Int:
    check: Callable[[int], str | None] | None = None
    what: str = "an integer"


@dataclasses.dataclass(frozen=True)
class Bool:
    what: str = "a boolean (true or false)"


@dataclasses.dataclass(frozen=True)
class Array:
    item: Shape

    @property
    def what(self) -> str:
        return f"an array of {_plural(self.item.what)}"


@dataclasses.dataclass(frozen=True)
class Table:
    """A table: ``fields`` are the keys uvdock reads; ``values`` shapes every other key
    (a map such as ``[project.scripts]``), and ``key_grammar`` checks those keys."""

    fields: Mapping[str, Shape] = dataclasses.field(default_factory=dict)
    values: Shape | None = None
    key_grammar: Grammar | None = None
    required: frozenset[str] = frozenset()
    what: str = "a table"


@dataclasses.dataclass(frozen=True)
class Either:
    """One of several shapes, told apart by the value's TOML type."""

    options: tuple[Shape, ...]

    @property
    def what(self) -> str:
        return " or ".join(option.what for option in self.options)


Shape = Str | Int | Bool | Array | Table | Either
Key = str | int


def _plural(what: str) -> str:
    noun = what.removeprefix("a ").removeprefix("an ")
    head, _, tail = noun.partition(" ")
    head = {"array": "arrays", "table": "tables", "string": "strings", "integer": "integers",
            "boolean": "booleans"}.get(head, head)  # fmt: skip
    return f"{head} {tail}".strip()


# Checked in order: a bool is also an int, a date-time also a date.
_TOML_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a float"),
    (str, "a string"),
    (list, "an array"),
    (dict, "a table"),
    (dt.datetime, "a date-time"),
    (dt.date, "a date"),
)


def toml_type(value: object) -> str:
    """The TOML type of a parsed value, as a message names it."""
    return next((name for kind, name in _TOML_TYPES if isinstance(value, kind)), "a time")


def _type_fits(shape: Shape, value: object) -> bool:
    if isinstance(shape, Str):
        return isinstance(value, str)
    if isinstance(shape, Int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(shape, Bool):
        return isinstance(value, bool)
    if isinstance(shape, Array):
        return isinstance(value, list)
    if isinstance(shape, Table):
        return isinstance(value, dict)
    return any(_type_fits(option, value) for option in shape.options)


@dataclasses.dataclass(frozen=True)
class Problem:
    keys: tuple[Key, ...]  # where: ("project", "dependencies", 0)
    message: str  # what: "must be a string, not an integer"


def find_problem(value: object, shape: Shape, keys: tuple[Key, ...] = ()) -> Problem | None:
    """The first place where ``value`` does not have ``shape``, or None."""
    if isinstance(shape, Either):
        fitting = next((o for o in shape.options if _type_fits(o, value)), None)
        if fitting is None:
            return Problem(keys, f"must be {shape.what}, not {toml_type(value)}")
        return find_problem(value, fitting, keys)
    if not _type_fits(shape, value):
        return Problem(keys, f"must be {shape.what}, not {toml_type(value)}")
    if isinstance(shape, Str):
        assert isinstance(value, str)  # noqa: S101 - _type_fits said so; narrows for mypy
        return _string_problem(value, shape, keys)
    if isinstance(shape, Int):
        assert isinstance(value, int)  # noqa: S101 - as above
        wrong = shape.check(value) if shape.check is not None else None
        return Problem(keys, wrong) if wrong else None
    if isinstance(shape, Array):
        assert isinstance(value, list)  # noqa: S101 - as above
        for index, item in enumerate(value):
            problem = find_problem(item, shape.item, (*keys, index))
            if problem is not None:
                return problem
        return None
    if isinstance(shape, Table):
        assert isinstance(value, dict)  # noqa: S101 - as above
        return _table_problem(value, shape, keys)
    return None


def _string_problem(value: str, shape: Str, keys: tuple[Key, ...]) -> Problem | None:
    wrong = None if shape.multiline else control_character(value)
    if wrong is None and shape.grammar is not None:
        wrong = shape.grammar(value)
    return Problem(keys, f"= {shown(value)}: {wrong}") if wrong else None


def shown(value: str) -> str:
    """``value`` quoted for a one-line message, cut if long."""
    return repr(value if len(value) <= 60 else value[:57] + "...")  # noqa: PLR2004


def _table_problem(value: dict[str, Any], shape: Table, keys: tuple[Key, ...]) -> Problem | None:
    for name in sorted(shape.required - value.keys()):
        return Problem(keys, f"has no `{name}`")
    for name, item in value.items():
        field = shape.fields.get(name)
        if field is None:
            if shape.values is None:
                continue  # a key uvdock does not read
            field = shape.values
            wrong = control_character(name)
            if wrong is None and shape.key_grammar is not None:
                wrong = shape.key_grammar(name)
            if wrong:
                return Problem((*keys, name), f"(the key): {wrong}")
        problem = find_problem(item, field, (*keys, name))
        if problem is not None:
            return problem
    return None


def dotted(keys: tuple[Key, ...]) -> str:
    """``("tool", "uv", "index", 2, "url")`` as ``tool.uv.index[2].url``."""
    shown = ""
    for key in keys:
        if isinstance(key, int):
            shown += f"[{key}]"
        else:
            part = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else repr(key)
            shown += f".{part}" if shown else part
    return shown or "the document"


def check(
    data: Mapping[str, Any],
    shape: Table,
    *,
    path: Path,
    text: str,
    hint: Callable[[tuple[Key, ...]], str],
) -> None:
    """Raise a ConfigError naming ``path:line`` and the key where ``data`` breaks ``shape``.

    ``hint`` says what to do about a problem at the given keys.
    """
    problem = find_problem(dict(data), shape)
    if problem is None:
        return
    raise ConfigError(
        f"`{dotted(problem.keys)}` {problem.message}",
        path=path,
        line=line_of(text, problem.keys),
        hint=hint(problem.keys),
    )


_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")


def line_of(text: str, keys: tuple[Key, ...]) -> int | None:
    """The 1-based line where the value at ``keys`` is written, as near as a scan can tell.

    ``[[package]]`` and ``[[tool.uv.index]]`` entries are found by counting
    their headers; other keys by :func:`uvdock._toml.line_of_key`.
    """
    for position, key in enumerate(keys):
        if not isinstance(key, int) or position == 0:
            continue
        table = ".".join(str(k) for k in keys[:position])
        found = _array_table_line(text, table, key, keys[position + 1 :])
        if found is not None:
            return found
    names = [k for k in keys if isinstance(k, str)]
    for end in range(len(names), 0, -1):
        line = line_of_key(text, ".".join(names[: end - 1]), names[end - 1])
        if line is not None:
            return line
    return None


def _array_table_line(text: str, table: str, index: int, rest: tuple[Key, ...]) -> int | None:
    lines = text.splitlines()
    headers = [
        number
        for number, raw in enumerate(lines, start=1)
        if (match := _ARRAY_HEADER.match(raw)) and match.group(1).replace(" ", "") == table
    ]
    if index >= len(headers):
        return None
    start = headers[index]
    end = headers[index + 1] - 1 if index + 1 < len(headers) else len(lines)
    for key in reversed([k for k in rest if isinstance(k, str)]):
        pattern = re.compile(rf"^\s*(\[\s*{re.escape(table)}\.)?\"?{re.escape(key)}\"?\s*[=\]]")
        for number in range(start + 1, end + 1):
            if pattern.match(lines[number - 1]):
                return number
    return start
