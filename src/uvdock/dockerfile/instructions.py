"""What BuildKit checks as it turns the parse tree into instructions (``instructions/parse.go``).

The flags each instruction accepts (and ``RUN --mount`` values, from
``instructions/runmount.go``), the argument counts and forms BuildKit
enforces, and ``FROM`` arguments and stage names. The functions return what
BuildKit would reject; the parser reports it.
"""

from __future__ import annotations

import re

from uvdock.dockerfile.gospace import SPLIT_RE
from uvdock.dockerfile.line_parsers import first_word_upper, parse_words, split_first_word
from uvdock.dockerfile.runmount import mount_problems
from uvdock.dockerfile.syntax import Flag, Instruction, Mount, Span

__all__ = ["argument_problem", "flag_problems", "from_arguments", "parse_mount"]

_STAGE_NAME_RE = re.compile("[a-z][a-z0-9-_.]*")

# The flags each instruction accepts (instructions/parse.go, runmount.go, ...):
# "bool" (--link, --link=true), "string" (needs =value, once), "strings" (repeatable).
_FLAGS: dict[str, dict[str, str]] = {
    "FROM": {"platform": "string"},
    "RUN": {"mount": "strings", "network": "string", "security": "string", "device": "strings"},
    "COPY": {
        "from": "string",
        "chown": "string",
        "chmod": "string",
        "link": "bool",
        "parents": "bool",
        "exclude": "strings",
    },
    "ADD": {
        "chown": "string",
        "chmod": "string",
        "link": "bool",
        "keep-git-dir": "bool",
        "checksum": "string",
        "unpack": "bool",
        "exclude": "strings",
    },
    "HEALTHCHECK": {
        "interval": "string",
        "timeout": "string",
        "start-period": "string",
        "start-interval": "string",
        "retries": "string",
    },
    "ARG": {"required": "bool"},
}


def parse_mount(flag: Flag) -> Mount:
    """Split a ``--mount=`` flag value (BuildKit's CSV syntax) into a :class:`Mount`.

    Keys are lower-cased; a later key overwrites an earlier one; a field
    without ``=`` gets the value ``"true"``; quoted fields (``"a,b"``) are
    unquoted. Malformed input gives what can be read (the parser reports it).
    """
    return Mount.from_flag(flag)


def flag_problems(instruction: Instruction) -> list[tuple[str, Span]]:
    """What BuildKit rejects in the instruction's flags: ``(message, span)``, in order."""
    keyword = instruction.keyword
    if keyword == "STOPSIGNAL":  # BuildKit never parses its flags
        return []
    allowed = _FLAGS.get(keyword, {})
    if keyword == "HEALTHCHECK" and first_word_upper(instruction.args) == "NONE":
        allowed = {}
    problems: list[tuple[str, Span]] = []
    used: set[str] = set()
    for flag in instruction.flags:
        kind = allowed.get(flag.name)
        problem = None
        if kind is None:
            problem = f"unknown flag: {flag.name}"
        elif flag.name in used and kind != "strings":
            problem = f"duplicate flag specified: {flag.name}"
        elif kind == "bool" and flag.value is not None:
            if flag.value == "":
                problem = f"missing a value on flag: {flag.name}"
            elif flag.value.lower() not in ("true", "false"):
                problem = f"expecting boolean value for flag {flag.name}, not: {flag.value}"
        elif kind != "bool" and flag.value is None:
            problem = f"missing a value on flag: {flag.name}"
        used.add(flag.name)
        if problem:
            problems.append((f"{keyword} {problem}", flag.span))
        elif flag.name == "mount" and flag.value is not None:
            problems.extend(
                (f"RUN --mount: {mount_problem}", flag.span)
                for mount_problem in mount_problems(flag.value)
            )
    return problems


def argument_problem(instruction: Instruction, escape: str) -> str | None:
    """What BuildKit rejects in the instruction's arguments (reported at ``args_span``), or None."""
    keyword = instruction.keyword
    if not instruction.args and keyword not in _MAY_BE_EMPTY:
        return (
            f"{keyword} requires exactly one argument"
            if keyword in ("WORKDIR", "USER", "MAINTAINER", "STOPSIGNAL")
            else f"{keyword} requires at least one argument"
        )
    check = _ARGUMENT_CHECKS.get(keyword)
    return check(instruction, escape) if check else None


def from_arguments(instruction: Instruction) -> tuple[str | None, str, list[str]]:
    """A ``FROM``'s stage name (lower case) and base image as written, and what BuildKit rejects."""
    words = SPLIT_RE.split(instruction.args) if instruction.args else []
    name: str | None = None
    problems: list[str] = []
    if len(words) == 3 and words[1].lower() == "as":  # noqa: PLR2004 - FROM image AS name
        name = words[2].lower()
        if not _STAGE_NAME_RE.fullmatch(name):
            problems.append(
                f"invalid name for build stage: {words[2]!r}, name can't start with a "
                "number or contain symbols"
            )
    elif len(words) != 1:
        problems.append("FROM requires either one or three arguments")
    return name, words[0] if words else "", problems


_MAY_BE_EMPTY = frozenset({"RUN", "CMD", "ENTRYPOINT", "FROM", "COPY", "ADD"})


def _check_sources(instruction: Instruction, _escape: str) -> str | None:
    count = (
        len(instruction.exec_form)
        if instruction.exec_form is not None
        else len(SPLIT_RE.split(instruction.args))
    )
    if count < 2:  # noqa: PLR2004 - sources and a destination
        return (
            f"{instruction.keyword} requires at least two arguments, but only one was "
            "provided. Destination could not be determined"
        )
    return None


def _check_shell(instruction: Instruction, _escape: str) -> str | None:
    if instruction.exec_form is None:
        return "SHELL requires the arguments to be in JSON form"
    if not instruction.exec_form:
        return "SHELL requires at least one argument"
    return None


def _check_volume(instruction: Instruction, _escape: str) -> str | None:
    if instruction.exec_form is not None and any(not v.strip() for v in instruction.exec_form):
        return "VOLUME specified can not be an empty string"
    return None


def _check_key_values(instruction: Instruction, escape: str) -> str | None:
    words = parse_words(instruction.args, escape)
    keyword = instruction.keyword
    if keyword == "ARG":
        if any(word.startswith("=") for word in words):
            return "ARG names can not be blank"
        return None
    if words and "=" not in words[0]:
        if len(SPLIT_RE.split(instruction.args, maxsplit=1)) < 2:  # noqa: PLR2004
            return f"{keyword} must have two arguments"
        return None
    for word in words:
        if "=" not in word:
            return f"Syntax error - can't find = in {word!r}. Must be of the form: name=value"
        if word.startswith("="):
            return f"{keyword} names can not be blank"
    return None


def _check_healthcheck(instruction: Instruction, _escape: str) -> str | None:
    parts = split_first_word(instruction.args)
    kind, rest = parts or ("", "")
    kind = kind.upper()
    if kind == "NONE":
        return "HEALTHCHECK NONE takes no arguments" if rest else None
    if kind != "CMD":
        return f"Unknown type {kind!r} in HEALTHCHECK (try CMD)"
    if not rest or instruction.exec_form == ():
        return "Missing command after HEALTHCHECK CMD"
    return None


def _check_onbuild(instruction: Instruction, _escape: str) -> str | None:
    parts = split_first_word(instruction.args)
    trigger = parts[0].upper() if parts else ""
    if trigger == "ONBUILD":
        return "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    if trigger in ("MAINTAINER", "FROM"):
        return f"{trigger} isn't allowed as an ONBUILD trigger"
    return None


_ARGUMENT_CHECKS = {
    "COPY": _check_sources,
    "ADD": _check_sources,
    "SHELL": _check_shell,
    "VOLUME": _check_volume,
    "ENV": _check_key_values,
    "LABEL": _check_key_values,
    "ARG": _check_key_values,
    "HEALTHCHECK": _check_healthcheck,
    "ONBUILD": _check_onbuild,
}
