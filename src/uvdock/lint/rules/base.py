"""What every rule is built from: the registry, hits, and the analysed Dockerfile.

A rule is a function decorated with :func:`rule`; it receives an
:class:`Analysis` and yields :class:`Hit` objects. The engine
(:mod:`uvdock.lint.engine`) turns hits into findings: it applies the
configured severity, suppressions and selection.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from uvdock.lint.context import BuildContext
from uvdock.lint.findings import Edit, RuleInfo, Severity
from uvdock.lint.parser import expand, key_values
from uvdock.lint.shell import ShellCommand, commands
from uvdock.lint.syntax import Dockerfile, Instruction, Span, Stage


@dataclasses.dataclass(frozen=True, kw_only=True)
class Hit:
    span: Span
    message: str
    fix: tuple[Edit, ...] = ()
    path: Path | None = None  # another file than the Dockerfile (e.g. the .dockerignore)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Command:
    """A simple shell command inside a ``RUN`` (or heredoc), with the stage's ENV."""

    instruction: Instruction
    shell: ShellCommand
    env: dict[str, str]  # the stage's ENV at this point, then the command's own prefixes

    @property
    def argv(self) -> tuple[str, ...]:
        return self.shell.argv


Check = Callable[["Analysis"], Iterable[Hit]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Rule:
    info: RuleInfo
    check: Check


RULES: list[Rule] = []


def rule(
    code: str,
    slug: str,
    severity: Severity,
    *,
    summary: str,
    why: str,
    bad: str,
    good: str,
    source: str,
    aliases: tuple[str, ...] = (),
    fixable: bool = False,
) -> Callable[[Check], Check]:
    """Register ``check`` as rule ``code``."""

    def register(check: Check) -> Check:
        info = RuleInfo(
            code=code,
            slug=slug,
            severity=severity,
            summary=summary,
            why=why.strip(),
            bad=bad.strip("\n"),
            good=good.strip("\n"),
            source=source.strip(),
            aliases=aliases,
            fixable=fixable,
        )
        RULES.append(Rule(info=info, check=check))
        return check

    return register


class Analysis:
    """A parsed Dockerfile with its build context, and facts several rules need."""

    def __init__(
        self,
        dockerfile: Dockerfile,
        context: BuildContext,
        *,
        trusted_registries: tuple[str, ...] = (),
    ) -> None:
        self.dockerfile = dockerfile
        self.context = context
        self.trusted_registries = trusted_registries

    @property
    def stages(self) -> tuple[Stage, ...]:
        return self.dockerfile.stages

    def variables(self, instruction: Instruction) -> list[tuple[str, str]]:
        """``(name, value)`` of an ENV or ARG, as BuildKit reads it (no default: ``""``)."""
        return [
            (key, value or "")
            for key, value in key_values(instruction, escape=self.dockerfile.escape)
        ]

    @property
    def final(self) -> Stage | None:
        return self.dockerfile.final_stage

    @functools.cached_property
    def global_args(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.dockerfile.global_args:
            for key, value in self.variables(instruction):
                values[key] = expand(value, values)
        return values

    def lineage(self, stage: Stage) -> list[Stage]:
        """``stage`` and the stages it is built FROM, nearest first."""
        chain = [stage]
        seen = {stage.index}
        while chain[-1].base_stage is not None and chain[-1].base_stage not in seen:
            parent = self.stages[chain[-1].base_stage]
            seen.add(parent.index)
            chain.append(parent)
        return chain

    def root_image(self, stage: Stage) -> str:
        """The image a stage finally starts from (following FROM <stage>), ARGs resolved."""
        return self.lineage(stage)[-1].base_resolved

    def env_before(self, stage: Stage, instruction: Instruction | None = None) -> dict[str, str]:
        """ENV (and ARG defaults) in effect in ``stage`` before ``instruction``."""
        env: dict[str, str] = {}
        for ancestor in reversed(self.lineage(stage)):
            for item in ancestor.instructions:
                if ancestor is stage and item is instruction:
                    return env
                if item.keyword in ("ENV", "ARG"):
                    for key, declared in self.variables(item):
                        value = declared
                        if item.keyword == "ARG" and not declared:
                            value = self.global_args.get(key, env.get(key, ""))
                        env[key] = expand(value, env)
        return env

    @functools.cached_property
    def reaching_final(self) -> set[int]:
        """Indexes of the stages whose files end up in the final image."""
        final = self.final
        if final is None:
            return set()
        reached: set[int] = set()
        pending = [final]
        while pending:
            stage = pending.pop()
            for member in self.lineage(stage):
                if member.index in reached:
                    continue
                reached.add(member.index)
                for item in member.instructions:
                    source = item.flag("from")
                    if item.keyword in ("COPY", "ADD") and source and source.value:
                        other = self.dockerfile.stage_named(source.value)
                        if other is not None and other.index not in reached:
                            pending.append(other)
        return reached

    @functools.cached_property
    def commands(self) -> list[tuple[Stage, Command]]:
        """Every simple shell command of every RUN, heredoc bodies included."""
        found: list[tuple[Stage, Command]] = []
        for stage in self.stages:
            for item in stage.instructions:
                if item.keyword != "RUN":
                    continue
                env = self.env_before(stage, item)
                for shell in self._run_commands(item):
                    own = dict(env)
                    own.update(shell.env)
                    found.append((stage, Command(instruction=item, shell=shell, env=own)))
        return found

    @staticmethod
    def _run_commands(item: Instruction) -> Iterator[ShellCommand]:
        if item.exec_form is not None:
            yield ShellCommand(argv=item.exec_form, env=(), text=" ".join(item.exec_form))
            return
        yield from commands(item.args)
        for heredoc in item.heredocs:
            # A heredoc is the script when the command is only "<<EOF" (or a shell
            # reading it); when it feeds another program (python - <<PY), it is data.
            head = item.args.split("<<", 1)[0].split()
            if not head or head[-1] in ("sh", "bash", "/bin/sh", "/bin/bash"):
                yield from commands(heredoc.content)

    def stage_commands(self, stage: Stage) -> list[Command]:
        return [command for owner, command in self.commands if owner is stage]

    def keyword_span(self, instruction: Instruction) -> Span:
        """The instruction's keyword, where most findings point."""
        span = instruction.span
        return Span(
            start_line=span.start_line,
            start_col=span.start_col,
            end_line=span.start_line,
            end_col=span.start_col + len(instruction.keyword_text),
        )

    def find_in(self, instruction: Instruction, needle: str | re.Pattern[str]) -> Span | None:
        """The first occurrence of ``needle`` in the instruction's source lines."""
        lines = self.dockerfile.lines
        for number in range(instruction.span.start_line, instruction.span.end_line + 1):
            line = lines[number - 1] if number - 1 < len(lines) else ""
            if isinstance(needle, str):
                col = line.find(needle)
                length = len(needle)
            else:
                match = needle.search(line)
                col, length = (match.start(), len(match.group(0))) if match else (-1, 0)
            if col >= 0:
                return Span(
                    start_line=number, start_col=col + 1, end_line=number, end_col=col + 1 + length
                )
        return None


def insert_after(span: Span, text: str) -> Edit:
    """An edit that inserts ``text`` right after ``span``."""
    point = Span(
        start_line=span.end_line,
        start_col=span.end_col,
        end_line=span.end_line,
        end_col=span.end_col,
    )
    return Edit(span=point, text=text)


# --- command helpers shared by the rules -------------------------------------------------

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})


def env_true(env: dict[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in TRUE_VALUES


def program(argv: tuple[str, ...]) -> str:
    """The program's base name (``/usr/local/bin/uv`` -> ``uv``)."""
    return argv[0].rsplit("/", 1)[-1] if argv else ""


def uv_subcommand(argv: tuple[str, ...]) -> tuple[str, ...] | None:
    """``("sync",)``, ``("pip", "install")``, ... for a uv command line, else None.

    Also recognises ``python -m uv ...``; global options before the subcommand
    (``uv --no-cache sync``) are skipped.
    """
    words = list(argv)
    if program(argv) in ("python", "python3") and words[1:3] == ["-m", "uv"]:
        words = words[2:]
    elif program(argv) != "uv":
        return None
    rest = [w for w in words[1:] if not w.startswith("-")]
    if not rest:
        return None
    if rest[0] in ("pip", "tool", "python", "cache", "self") and len(rest) > 1:
        return (rest[0], rest[1])
    return (rest[0],)


def has_flag(argv: tuple[str, ...], *names: str) -> bool:
    """Whether any of ``--name`` or ``--name=value`` is among ``argv``."""
    return any(word == name or word.startswith(name + "=") for word in argv for name in names)


def copy_sources(item: Instruction) -> list[str]:
    """The sources of a COPY or ADD (every word but the destination)."""
    words = list(item.exec_form) if item.exec_form is not None else item.args.split()
    return words[:-1]
