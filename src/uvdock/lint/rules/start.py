"""What a container starts: its effective ENTRYPOINT and CMD, the commands they run, the
program inside the wrappers, the start scripts in the context, and a development server.
The rules about start-up (``runtime``) and others (``security``, ``uv_environment``,
``uv_pip``) ask these questions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from uvdock.dockerfile import expand
from uvdock.dockerfile.syntax import Instruction, Stage
from uvdock.lint.options import UV_OPTIONS_WITH_VALUE
from uvdock.lint.rules.base import Analysis
from uvdock.lint.rules.words import copy_sources, has_flag, program
from uvdock.lint.shell import commands


def effective_start(
    analysis: Analysis, stage: Stage
) -> tuple[Instruction | None, Instruction | None]:
    """The (ENTRYPOINT, CMD) a container of ``stage`` starts with, through FROM <stage>.

    As BuildKit: an ENTRYPOINT resets a CMD inherited from the stage's base (not one set
    earlier in the same stage).
    """
    entry: Instruction | None = None
    cmd: Instruction | None = None
    for member in reversed(analysis.lineage(stage)):
        cmd_set = False
        for item in member.instructions:
            if item.keyword == "CMD":
                cmd, cmd_set = item, True
            elif item.keyword == "ENTRYPOINT":
                entry = item
                if not cmd_set:
                    cmd = None
    return entry, cmd


def _instruction_words(item: Instruction | None) -> list[str]:
    if item is None:
        return []
    if item.exec_form is not None:
        return list(item.exec_form)
    return ["/bin/sh", "-c", item.args] if item.args.strip() else []


def start_commands(
    analysis: Analysis, stage: Stage
) -> tuple[Instruction | None, list[tuple[str, ...]]]:
    """(the instruction to point at, the simple commands the container starts with)."""
    entry, cmd = effective_start(analysis, stage)
    words = _instruction_words(entry) + _instruction_words(cmd)
    where = entry if entry is not None and _instruction_words(entry) else cmd
    if not words:
        return where, []
    if program(tuple(words)) in ("sh", "bash") and "-c" in words[1:3]:
        script = words[words.index("-c") + 1] if words.index("-c") + 1 < len(words) else ""
        return where, [c.argv for c in commands(script) if c.depth == 0]
    return where, [tuple(words)]


PYTHON = re.compile(r"python(?:3(?:\.\d+)?)?")
PYTHON_VALUES = frozenset({"-X", "-W", "-Q"})


def unwrap(argv: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """The program a start command finally runs, and whether Python runs it.

    Strips ``exec``, ``env``, init wrappers (tini, dumb-init), ``gosu user``,
    ``uv run [options]``, ``poetry run``, and ``python [-u ...] -m module`` or
    ``python script.py`` (then the module or script is the program).
    """
    words = list(argv)
    python = False
    for _ in range(8):
        name = program(tuple(words))
        if name in ("exec", "nohup", "tini", "tini-static", "dumb-init", "catatonit", "env"):
            words = words[1:]
            while words and (words[0].startswith("-") or (name == "env" and "=" in words[0])):
                words = words[1:]
        elif name in ("gosu", "su-exec"):
            words = words[2:]
        elif name in ("poetry", "pdm", "pipenv", "hatch", "rye") and words[1:2] == ["run"]:
            words, python = words[2:], True
        elif name == "uv" and "run" in words[1:2]:
            words, python = words[2:], True
            while words and words[0].startswith("-"):
                words = words[2:] if words[0] in UV_OPTIONS_WITH_VALUE else words[1:]
        elif PYTHON.fullmatch(name):
            python = True
            rest = words[1:]
            while rest and rest[0].startswith("-") and rest[0] != "-m":
                rest = rest[2:] if rest[0] in PYTHON_VALUES else rest[1:]
            words = rest[1:] if rest[:1] == ["-m"] else rest
            break
        else:
            break
    return tuple(words), python


def script_files(analysis: Analysis, stage: Stage, script: str, root: Path) -> Iterator[Path]:
    """Files of the context that may be ``script`` in the image: the source of the COPY that
    put it there (latest first), then the path itself and its name at the context root."""
    workdir = PurePosixPath("/")
    copies: list[tuple[PurePosixPath, list[str], bool]] = []
    for member in reversed(analysis.lineage(stage)):
        for item in member.instructions:
            if item.keyword == "WORKDIR" and item.args.strip():
                written = item.args.strip().strip("\"'")
                if "$" in written:  # WORKDIR ${SRC}: ENV and ARG values, as BuildKit expands
                    written = expand(written, analysis.env_before(member, item))
                workdir = workdir / written
            elif item.keyword in ("COPY", "ADD") and item.flag("from") is None:
                words = list(item.exec_form) if item.exec_form is not None else item.args.split()
                sources = copy_sources(item)
                if sources and not item.heredocs:
                    into_dir = words[-1].endswith("/") or len(sources) > 1
                    copies.append((workdir / words[-1], sources, into_dir))
    target = workdir / script
    for destination, sources, into_dir in reversed(copies):
        for source in sources:
            if "$" in source or "*" in source:
                continue
            exact = target == destination and not into_dir
            if exact or (
                target.parent == destination and PurePosixPath(source).name == target.name
            ):
                yield root / source
            elif destination in target.parents:
                yield root / source / target.relative_to(destination)
    yield root / script.lstrip("/")
    yield root / PurePosixPath(script).name


def dev_server(words: tuple[str, ...]) -> str | None:
    """What a development server start looks like (``manage.py runserver``...), else None."""
    name = program(words)
    rest = words[1:]
    positional = [w for w in rest if not w.startswith("-")]
    if name in ("manage.py", "django-admin", "django") and positional[:1] in (
        ["runserver"],
        ["runserver_plus"],
    ):
        return f"{name} {positional[0]}"
    if name == "fastapi" and positional[:1] == ["dev"]:
        return "fastapi dev"
    if name == "flask":
        index = 0
        while index < len(rest) and rest[index].startswith("-"):
            index += 2 if rest[index] in ("--app", "-A", "--env-file", "-e") else 1
        if rest[index : index + 1] == ("run",):
            return "flask run"
    if name in ("uvicorn", "gunicorn", "hypercorn", "granian") and has_flag(rest, "--reload"):
        return f"{name} --reload"
    return None


def starts_development_server(analysis: Analysis, stage: Stage) -> bool:
    """Whether a container of ``stage`` starts a development server (a dev image)."""
    _, started = start_commands(analysis, stage)
    return any(dev_server(unwrap(argv)[0]) is not None for argv in started)
